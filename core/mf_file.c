/*
 * mf_file.c — the moonforge tensor file: writer, atomic save, validating
 * reader. The layout is specified in docs/format.md; the constants below are
 * the ones that page documents.
 *
 * Every multi-byte field is written and read byte by byte (put_u64/get_u64),
 * never by casting a pointer, so the code is correct on any host byte order
 * and never reads unaligned. Tensor elements are copied as they are on a
 * little-endian host and swapped on a big-endian one.
 *
 * Reading is sequential: header, structure (parsed into the node tree and
 * the tensors allocated, every size checked against the file size first),
 * then each tensor's data read straight into its storage, with the CRC-32
 * computed on the way. A malformed structure is reported only once the
 * checksum is known to match: a damaged file says "checksum mismatch", a
 * well-formed file with impossible contents (a writer bug, a crafted file)
 * names the record at fault.
 */
#include "mf_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ format */
static const unsigned char MF_MAGIC[8] = {0x89, 'M', 'F', 'G', '\r', '\n', 0x1A, '\n'};
static const unsigned char MF_END_MARK[4] = {'M', 'F', 'G', 'E'};
#define MF_HEADER_SIZE 64
#define MF_TRAILER_SIZE 8
#define MF_ALIGN 64
/* Flag bits 0-15 are required features (a reader refuses unknown ones),
 * bits 16-31 optional ones (ignored when unknown). Version 1.0 defines none. */
#define MF_FLAGS_REQUIRED 0x0000FFFFu

enum {
    REC_FALSE = 0x01,
    REC_TRUE = 0x02,
    REC_INT = 0x03,
    REC_FLOAT = 0x04,
    REC_STRING = 0x05,
    REC_TENSOR = 0x06,
    REC_TABLE = 0x07,
    REC_END = 0x08
};

/* Smallest tensor record: tag, dtype, ndim (0) and the data offset. */
#define MF_TENSOR_REC_MIN 11

/* File dtype codes, fixed by the format (not the C enum, which may change). */
static const struct {
    unsigned code;
    mf_dtype dt;
} dtype_codes[] = {
    {1, MF_FLOAT32},
    {2, MF_FLOAT64},
    {3, MF_INT64},
    {4, MF_BOOL},
};
static_assert(sizeof dtype_codes / sizeof dtype_codes[0] == MF_DTYPE_COUNT,
              "every dtype needs a file code (docs/format.md)");

static unsigned dtype_to_code(mf_dtype dt)
{
    for (size_t i = 0; i < sizeof dtype_codes / sizeof dtype_codes[0]; i++)
        if (dtype_codes[i].dt == dt) return dtype_codes[i].code;
    return 0;
}

static int dtype_from_code(unsigned code, mf_dtype *dt)
{
    for (size_t i = 0; i < sizeof dtype_codes / sizeof dtype_codes[0]; i++)
        if (dtype_codes[i].code == code) {
            *dt = dtype_codes[i].dt;
            return 1;
        }
    return 0;
}

static uint64_t align_up(uint64_t x) { return (x + (MF_ALIGN - 1)) / MF_ALIGN * MF_ALIGN; }

/* ------------------------------------------------------------------ bytes */
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverses the bytes of each of n elements of `size` bytes. */
static void swap_elements(unsigned char *p, size_t n, size_t size)
{
    if (size == 1) return;
    for (size_t e = 0; e < n; e++, p += size)
        for (size_t i = 0; i < size / 2; i++) {
            unsigned char c = p[i];
            p[i] = p[size - 1 - i];
            p[size - 1 - i] = c;
        }
}

/* ------------------------------------------------------------------ CRC-32 */
/*
 * CRC-32/IEEE (reflected polynomial 0xEDB88320, initial and final xor
 * 0xFFFFFFFF), the checksum of zlib, gzip, PNG and Python's zlib.crc32, so a
 * reader in any language has it at hand. Computed eight bytes at a time
 * ("slicing-by-8", about 2 GB/s) from tables built once. Written here rather
 * than linked from zlib to keep libmoonforge free of extra dependencies.
 */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

uint32_t mf_file_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    pthread_once(&crc_once, crc_init);
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
            crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* ------------------------------------------------------------------ errors */
static mf_status sys_error(const char *path, const char *what, int err)
{
    char buf[256];
    if (strerror_r(err, buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "error %d", err);
    if (what) return mf_error_set(MF_EIO, 0, "%s: %s: %s", path, what, buf);
    return mf_error_set(MF_EIO, 0, "%s: %s", path, buf);
}

static mf_status nomem(void) { return mf_error_set(MF_ENOMEM, 0, "not enough memory"); }

/* ------------------------------------------------------------------ byte buffer */
typedef struct bytebuf {
    unsigned char *p;
    size_t len, cap;
} bytebuf;

static int buf_reserve(bytebuf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return 1;
    if (extra > SIZE_MAX / 2 - b->len) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) cap *= 2;
    unsigned char *p = mf_malloc(cap);
    if (!p) return 0;
    if (b->len) memcpy(p, b->p, b->len);
    mf_free(b->p);
    b->p = p;
    b->cap = cap;
    return 1;
}

/* ------------------------------------------------------------------ writer */
typedef struct frame {
    int64_t arr_left, hash_left;
    int want_value; /* in the hash part: 1 after a key */
} frame;

struct mf_file_writer {
    bytebuf st;          /* the structure section */
    mf_tensor **tensors; /* retained, in record order */
    uint64_t *offsets;   /* of each tensor's data in the data section */
    size_t ntensors, cap;
    uint64_t data_size;  /* end of the last tensor's data */
    frame stack[MF_FILE_MAX_DEPTH];
    int depth;
    int root_done;
    int broken;          /* an out-of-place record was refused */
};

mf_status mf_file_writer_new(mf_file_writer **out)
{
    *out = mf_calloc(1, sizeof **out);
    return *out ? MF_OK : nomem();
}

void mf_file_writer_free(mf_file_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->ntensors; i++) mf_tensor_release(w->tensors[i]);
    mf_free(w->tensors);
    mf_free(w->offsets);
    mf_free(w->st.p);
    mf_free(w);
}

static mf_status misuse(mf_file_writer *w, const char *fmt, const char *what)
{
    w->broken = 1;
    return mf_error_set(MF_EINVAL, 0, fmt, what);
}

/* Checks that a record of this kind may come next and takes its place. */
static mf_status place(mf_file_writer *w, mf_file_kind kind, const char *what)
{
    if (w->broken) return mf_error_set(MF_ESTATE, 0, "file writer: unusable after an error");
    if (w->depth == 0) {
        if (w->root_done) return misuse(w, "file writer: %s after the root value", what);
        if (kind != MF_FILE_TABLE) w->root_done = 1;
        return MF_OK;
    }
    frame *f = &w->stack[w->depth - 1];
    if (f->arr_left > 0) {
        f->arr_left--;
    } else if (f->hash_left > 0) {
        if (f->want_value) {
            f->want_value = 0;
            f->hash_left--;
        } else {
            if (kind == MF_FILE_TABLE || kind == MF_FILE_TENSOR)
                return misuse(w, "file writer: a key must be a bool, number or string, got a %s",
                              what);
            f->want_value = 1;
        }
    } else {
        return misuse(w, "file writer: %s in a table whose counts are met (end expected)", what);
    }
    return MF_OK;
}

static mf_status emit(mf_file_writer *w, const unsigned char *rec, size_t n)
{
    if (!buf_reserve(&w->st, n)) {
        w->broken = 1;
        return nomem();
    }
    memcpy(w->st.p + w->st.len, rec, n);
    w->st.len += n;
    return MF_OK;
}

mf_status mf_file_put_bool(mf_file_writer *w, int v)
{
    mf_status st = place(w, MF_FILE_BOOL, "bool");
    unsigned char rec = v ? REC_TRUE : REC_FALSE;
    return st ? st : emit(w, &rec, 1);
}

mf_status mf_file_put_int(mf_file_writer *w, int64_t v)
{
    mf_status st = place(w, MF_FILE_INT, "int");
    unsigned char rec[9] = {REC_INT};
    put_u64(rec + 1, (uint64_t)v);
    return st ? st : emit(w, rec, sizeof rec);
}

mf_status mf_file_put_float(mf_file_writer *w, double v)
{
    frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;
    if (isnan(v) && f && f->arr_left == 0 && f->hash_left > 0 && !f->want_value && !w->broken)
        return misuse(w, "file writer: %s key", "NaN");
    mf_status st = place(w, MF_FILE_FLOAT, "float");
    unsigned char rec[9] = {REC_FLOAT};
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(rec + 1, bits);
    return st ? st : emit(w, rec, sizeof rec);
}

mf_status mf_file_put_string(mf_file_writer *w, const char *s, size_t len)
{
    mf_status st = place(w, MF_FILE_STRING, "string");
    if (st) return st;
    unsigned char rec[9] = {REC_STRING};
    put_u64(rec + 1, (uint64_t)len);
    if ((st = emit(w, rec, sizeof rec)) != MF_OK) return st;
    return len ? emit(w, (const unsigned char *)s, len) : MF_OK;
}

mf_status mf_file_put_tensor(mf_file_writer *w, mf_tensor *t)
{
    if (!t) return mf_error_set(MF_EINVAL, 2, "file writer: NULL tensor");
    if ((unsigned)t->dtype >= MF_DTYPE_COUNT || t->ndim < 0 || t->ndim > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "file writer: not a valid tensor");
    mf_status st = place(w, MF_FILE_TENSOR, "tensor");
    if (st) return st;
    if (w->ntensors == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        mf_tensor **tl = mf_malloc(cap * sizeof *tl);
        uint64_t *ol = mf_malloc(cap * sizeof *ol);
        if (!tl || !ol) {
            mf_free(tl);
            mf_free(ol);
            w->broken = 1;
            return nomem();
        }
        if (w->ntensors) {
            memcpy(tl, w->tensors, w->ntensors * sizeof *tl);
            memcpy(ol, w->offsets, w->ntensors * sizeof *ol);
        }
        mf_free(w->tensors);
        mf_free(w->offsets);
        w->tensors = tl;
        w->offsets = ol;
        w->cap = cap;
    }
    unsigned char rec[3 + 8 * MF_MAX_DIMS + 8];
    size_t n = 0;
    rec[n++] = REC_TENSOR;
    rec[n++] = (unsigned char)dtype_to_code(t->dtype);
    rec[n++] = (unsigned char)t->ndim;
    for (int d = 0; d < t->ndim; d++, n += 8) put_u64(rec + n, (uint64_t)t->shape[d]);
    uint64_t off = align_up(w->data_size);
    put_u64(rec + n, off);
    n += 8;
    if ((st = emit(w, rec, n)) != MF_OK) return st;
    mf_tensor_retain(t);
    w->tensors[w->ntensors] = t;
    w->offsets[w->ntensors++] = off;
    w->data_size = off + (uint64_t)mf_tensor_numel(t) * mf_dtype_size(t->dtype);
    return MF_OK;
}

mf_status mf_file_put_table(mf_file_writer *w, int64_t narr, int64_t nhash)
{
    if (narr < 0 || nhash < 0) {
        w->broken = 1;
        return mf_error_set(MF_EINVAL, 2, "file writer: negative table count");
    }
    if (!w->broken && w->depth == MF_FILE_MAX_DEPTH)
        return misuse(w, "file writer: %s nested deeper than 64", "tables");
    mf_status st = place(w, MF_FILE_TABLE, "table");
    if (st) return st;
    unsigned char rec[17] = {REC_TABLE};
    put_u64(rec + 1, (uint64_t)narr);
    put_u64(rec + 9, (uint64_t)nhash);
    if ((st = emit(w, rec, sizeof rec)) != MF_OK) return st;
    w->stack[w->depth++] = (frame){narr, nhash, 0};
    return MF_OK;
}

mf_status mf_file_put_end(mf_file_writer *w)
{
    if (w->broken) return mf_error_set(MF_ESTATE, 0, "file writer: unusable after an error");
    if (w->depth == 0) return misuse(w, "file writer: %s without an open table", "end");
    frame *f = &w->stack[w->depth - 1];
    if (f->arr_left || f->hash_left) {
        w->broken = 1;
        return mf_error_set(MF_EINVAL, 0,
                            "file writer: end of a table still expecting %lld values and %lld pairs",
                            (long long)f->arr_left, (long long)f->hash_left);
    }
    unsigned char rec = REC_END;
    mf_status st = emit(w, &rec, 1);
    if (st) return st;
    if (--w->depth == 0) w->root_done = 1;
    return MF_OK;
}

/* ------------------------------------------------------------------ output */
/*
 * The bytes of a file go through a sink: into a caller's buffer, or to a
 * file descriptor through a staging buffer (small records) or straight from
 * tensor memory (large contiguous data). The sink keeps the running CRC.
 */
#define MF_STAGE_SIZE ((size_t)1 << 20)
#define MF_CHUNK ((size_t)4 << 20)

typedef struct sink {
    int fd;              /* -1: memory */
    unsigned char *mem;  /* memory output (exact size) */
    unsigned char *stage;
    size_t nstage;
    uint64_t pos;
    uint32_t crc;
    const char *path;
} sink;

static mf_status write_all(sink *s, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t part = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t k = write(s->fd, p, part);
        if (k < 0) {
            if (errno == EINTR) continue;
            return sys_error(s->path, "write", errno);
        }
        p += k;
        n -= (size_t)k;
    }
    return MF_OK;
}

static mf_status sink_flush(sink *s)
{
    mf_status st = MF_OK;
    if (s->fd >= 0 && s->nstage) st = write_all(s, s->stage, s->nstage);
    s->nstage = 0;
    return st;
}

static mf_status sink_write(sink *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->crc = mf_file_crc32(s->crc, p, n);
    if (s->fd < 0) {
        if (n) memcpy(s->mem + s->pos, p, n);
        s->pos += n;
        return MF_OK;
    }
    s->pos += n;
    if (n >= MF_STAGE_SIZE / 2) {
        mf_status st = sink_flush(s);
        return st ? st : write_all(s, p, n);
    }
    if (n > MF_STAGE_SIZE - s->nstage) {
        mf_status st = sink_flush(s);
        if (st) return st;
    }
    memcpy(s->stage + s->nstage, p, n);
    s->nstage += n;
    return MF_OK;
}

static mf_status sink_zeros(sink *s, uint64_t n)
{
    static const unsigned char zeros[MF_ALIGN];
    while (n > 0) {
        size_t k = n > MF_ALIGN ? MF_ALIGN : (size_t)n;
        mf_status st = sink_write(s, zeros, k);
        if (st) return st;
        n -= k;
    }
    return MF_OK;
}

/* Contiguous little-endian bytes: written as they are, or swapped through
 * the scratch buffer on a big-endian host. */
static mf_status sink_elements(sink *s, const unsigned char *p, size_t nbytes, size_t es,
                               unsigned char *scratch)
{
    while (nbytes > 0) { /* in chunks: the CRC reads what write() just read */
        size_t k = nbytes > MF_CHUNK ? MF_CHUNK : nbytes;
        mf_status st;
        if (host_is_little_endian()) {
            st = sink_write(s, p, k);
        } else {
            memcpy(scratch, p, k);
            swap_elements(scratch, k / es, es);
            st = sink_write(s, scratch, k);
        }
        if (st) return st;
        p += k;
        nbytes -= k;
    }
    return MF_OK;
}

/* A tensor's elements in row-major order. A strided tensor is copied in
 * blocks of rows (the library's tiled copy, a few MB at a time), never
 * whole. */
static mf_status sink_tensor(sink *s, mf_tensor *t, unsigned char *scratch)
{
    size_t es = mf_dtype_size(t->dtype);
    int64_t numel = mf_tensor_numel(t);
    if (numel == 0) return MF_OK;
    if (mf_tensor_is_contiguous(t))
        return sink_elements(s, mf_tensor_data(t), (size_t)numel * es, es, scratch);
    int64_t rows = t->shape[0], row_bytes = numel / rows * (int64_t)es;
    int64_t per = row_bytes >= (int64_t)MF_CHUNK ? 1 : (int64_t)MF_CHUNK / row_bytes;
    for (int64_t r = 0; r < rows; r += per) {
        mf_tensor *blk, *c = NULL;
        mf_status st = mf_tensor_narrow(&blk, t, 0, r, rows - r < per ? rows - r : per);
        if (st) return st;
        st = mf_tensor_contiguous(&c, blk);
        mf_tensor_release(blk);
        if (!st) st = sink_elements(s, mf_tensor_data(c), mf_tensor_nbytes(c), es, scratch);
        mf_tensor_release(c);
        if (st) return st;
    }
    return MF_OK;
}

static uint64_t file_size_of(const mf_file_writer *w)
{
    uint64_t data_off = align_up(MF_HEADER_SIZE + (uint64_t)w->st.len);
    return data_off + w->data_size + MF_TRAILER_SIZE;
}

static mf_status sink_file(sink *s, const mf_file_writer *w)
{
    unsigned char hdr[MF_HEADER_SIZE] = {0};
    uint64_t data_off = align_up(MF_HEADER_SIZE + (uint64_t)w->st.len);
    memcpy(hdr, MF_MAGIC, sizeof MF_MAGIC);
    put_u32(hdr + 8, MF_FILE_VERSION_MAJOR);
    put_u32(hdr + 12, MF_FILE_VERSION_MINOR);
    put_u32(hdr + 16, 0); /* flags */
    put_u32(hdr + 20, MF_HEADER_SIZE);
    put_u64(hdr + 24, (uint64_t)w->st.len);
    put_u64(hdr + 32, data_off);
    put_u64(hdr + 40, w->data_size);
    put_u64(hdr + 48, (uint64_t)w->ntensors);
    /* 56..63 reserved, zero */
    mf_status st = sink_write(s, hdr, sizeof hdr);
    if (!st) st = sink_write(s, w->st.p, w->st.len);
    if (!st) st = sink_zeros(s, data_off - s->pos);
    unsigned char *scratch = NULL;
    for (size_t i = 0; i < w->ntensors && !st; i++) {
        mf_tensor *t = w->tensors[i];
        st = sink_zeros(s, data_off + w->offsets[i] - s->pos);
        if (st) break;
        if (!scratch && !host_is_little_endian() && mf_tensor_numel(t) > 0 &&
            !(scratch = mf_malloc(MF_CHUNK))) {
            st = nomem();
            break;
        }
        st = sink_tensor(s, t, scratch);
    }
    mf_free(scratch);
    if (st) return st;
    unsigned char trailer[MF_TRAILER_SIZE];
    put_u32(trailer, s->crc);
    memcpy(trailer + 4, MF_END_MARK, 4);
    if ((st = sink_write(s, trailer, sizeof trailer)) != MF_OK) return st;
    return sink_flush(s);
}

static mf_status check_complete(const mf_file_writer *w)
{
    if (w->broken) return mf_error_set(MF_ESTATE, 0, "file writer: unusable after an error");
    if (!w->root_done && w->depth)
        return mf_error_set(MF_EINVAL, 0, "file writer: %d tables not ended", w->depth);
    if (!w->root_done) return mf_error_set(MF_EINVAL, 0, "file writer: no value written");
    return MF_OK;
}

mf_status mf_file_writer_to_buffer(mf_file_writer *w, void **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    mf_status st = check_complete(w);
    if (st) return st;
    uint64_t size = file_size_of(w);
    if (size > SIZE_MAX) return mf_error_set(MF_ERANGE, 0, "file too large for memory");
    unsigned char *mem = mf_malloc((size_t)size);
    if (!mem) return nomem();
    sink s = {.fd = -1, .mem = mem, .path = "(buffer)"};
    st = sink_file(&s, w);
    if (st) {
        mf_free(mem);
        return st;
    }
    *buf = mem;
    *len = (size_t)size;
    return MF_OK;
}

/* Opens `path.tmp.XXXXXX` exclusively. Not mkstemp: it creates the file with
 * mode 0600, and a saved model must get the same permissions as any file the
 * user creates (0666 minus the umask), e.g. to be readable by a service. */
static int open_temp(char *tmp, size_t base_len)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static _Atomic unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                 (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        x += 0x9E3779B97F4A7C15u * (uint64_t)(++counter); /* splitmix64 */
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        z ^= z >> 31;
        for (int i = 0; i < 6; i++, z /= 62) tmp[base_len + 5 + (size_t)i] = chars[z % 62];
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* fsync of the directory holding `path`, so that the rename is durable. */
static mf_status sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) return MF_OK; /* cannot name it: skip (best effort) */
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_error(path, "open of its directory", errno);
    int rc = fsync(fd), err = errno;
    close(fd);
    /* some file systems cannot sync a directory (EINVAL): nothing to do then */
    if (rc != 0 && err != EINVAL && err != EROFS) return sys_error(path, "fsync of its directory", err);
    return MF_OK;
}

mf_status mf_file_atomic_open(mf_file_atomic *a, const char *path)
{
    a->fd = -1;
    a->tmp = NULL;
    a->path = path;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return sys_error(path, NULL, EISDIR);
    size_t n = strlen(path);
    a->tmp = mf_malloc(n + 12);
    if (!a->tmp) return nomem();
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, ".tmp.XXXXXX", 12);
    a->fd = open_temp(a->tmp, n);
    if (a->fd < 0) {
        mf_status st = sys_error(path, NULL, errno);
        mf_free(a->tmp);
        a->tmp = NULL;
        return st;
    }
    return MF_OK;
}

mf_status mf_file_atomic_write(mf_file_atomic *a, const void *data, size_t n)
{
    sink s = {.fd = a->fd, .path = a->path};
    return write_all(&s, data, n);
}

void mf_file_atomic_abort(mf_file_atomic *a)
{
    if (a->fd >= 0) {
        close(a->fd);
        unlink(a->tmp);
    }
    mf_free(a->tmp);
    a->fd = -1;
    a->tmp = NULL;
}

mf_status mf_file_atomic_commit(mf_file_atomic *a)
{
    mf_status st = MF_OK;
    if (fsync(a->fd) != 0) st = sys_error(a->path, "fsync", errno);
    if (close(a->fd) != 0 && !st) st = sys_error(a->path, "close", errno);
    a->fd = -1;
    if (!st && rename(a->tmp, a->path) != 0) st = sys_error(a->path, "rename", errno);
    if (st) unlink(a->tmp);
    else st = sync_dir(a->path);
    mf_free(a->tmp);
    a->tmp = NULL;
    return st;
}

mf_status mf_file_writer_save(mf_file_writer *w, const char *path)
{
    mf_status st = check_complete(w);
    if (st) return st;
    unsigned char *stage = mf_malloc(MF_STAGE_SIZE);
    if (!stage) return nomem();
    mf_file_atomic a;
    st = mf_file_atomic_open(&a, path);
    if (!st) {
        sink s = {.fd = a.fd, .stage = stage, .path = path};
        st = sink_file(&s, w);
        if (st) mf_file_atomic_abort(&a);
        else st = mf_file_atomic_commit(&a);
    }
    mf_free(stage);
    return st;
}

/* ------------------------------------------------------------------ writing a tree */
mf_status mf_file_put_node(mf_file_writer *w, const mf_file_node *n)
{
    switch (n->kind) {
    case MF_FILE_BOOL: return mf_file_put_bool(w, n->u.b);
    case MF_FILE_INT: return mf_file_put_int(w, n->u.i);
    case MF_FILE_FLOAT: return mf_file_put_float(w, n->u.f);
    case MF_FILE_STRING: return mf_file_put_string(w, n->u.s.ptr, n->u.s.len);
    case MF_FILE_TENSOR: return mf_file_put_tensor(w, n->u.tensor);
    case MF_FILE_TABLE: break;
    default: return mf_error_set(MF_EINVAL, 1, "bad node kind %d", (int)n->kind);
    }
    mf_status st = mf_file_put_table(w, n->u.t.narr, n->u.t.nhash);
    for (int64_t i = 0; i < n->u.t.narr && !st; i++) st = mf_file_put_node(w, &n->u.t.arr[i]);
    for (int64_t i = 0; i < n->u.t.nhash && !st; i++) {
        st = mf_file_put_node(w, &n->u.t.keys[i]);
        if (!st) st = mf_file_put_node(w, &n->u.t.vals[i]);
    }
    return st ? st : mf_file_put_end(w);
}

/* ------------------------------------------------------------------ nodes */
const char *mf_file_kind_name(mf_file_kind k)
{
    static const char *const names[] = {"bool", "int", "float", "string", "tensor", "table"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void node_clear(mf_file_node *n)
{
    if (n->kind == MF_FILE_STRING) {
        mf_free(n->u.s.ptr);
    } else if (n->kind == MF_FILE_TENSOR) {
        mf_tensor_release(n->u.tensor);
    } else if (n->kind == MF_FILE_TABLE && n->u.t.arr) {
        /* arr, keys and vals are one block */
        int64_t total = n->u.t.narr + 2 * n->u.t.nhash;
        for (int64_t i = 0; i < total; i++) node_clear(&n->u.t.arr[i]);
        mf_free(n->u.t.arr);
    }
}

void mf_file_node_free(mf_file_node *n)
{
    if (!n) return;
    node_clear(n);
    mf_free(n);
}

const mf_file_node *mf_file_node_field(const mf_file_node *t, const char *key)
{
    if (!t || t->kind != MF_FILE_TABLE) return NULL;
    size_t len = strlen(key);
    for (int64_t i = 0; i < t->u.t.nhash; i++) {
        const mf_file_node *k = &t->u.t.keys[i];
        if (k->kind == MF_FILE_STRING && k->u.s.len == len && memcmp(k->u.s.ptr, key, len) == 0)
            return &t->u.t.vals[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------ input */
/* A file being read: a descriptor or a memory image, with its size and the
 * running CRC of the bytes read so far. */
typedef struct source {
    int fd; /* -1: memory */
    const unsigned char *mem;
    uint64_t size, pos;
    uint32_t crc;
    const char *name;
} source;

static mf_status src_read(source *s, void *dst, uint64_t n)
{
    unsigned char *p = dst;
    if (n == 0) return MF_OK;
    if (n > s->size - s->pos) /* sizes were checked: only if the file changed */
        return mf_error_set(MF_EIO, 0, "%s: truncated file (changed while reading?)", s->name);
    if (s->fd < 0) {
        memcpy(p, s->mem + s->pos, (size_t)n);
        s->crc = mf_file_crc32(s->crc, p, (size_t)n);
        s->pos += n;
        return MF_OK;
    }
    while (n > 0) {
        size_t part = n > MF_CHUNK ? MF_CHUNK : (size_t)n, got = 0;
        while (got < part) {
            ssize_t k = read(s->fd, p + got, part - got);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) return sys_error(s->name, "read", errno);
            if (k == 0)
                return mf_error_set(MF_EIO, 0, "%s: truncated file (changed while reading?)",
                                    s->name);
            got += (size_t)k;
        }
        s->crc = mf_file_crc32(s->crc, p, part);
        s->pos += part;
        p += part;
        n -= part;
    }
    return MF_OK;
}

/* Reads (and checksums) n bytes that are not kept. */
static mf_status src_skip(source *s, uint64_t n, unsigned char *scratch, size_t cap)
{
    if (s->fd < 0) {
        if (n > s->size - s->pos) return src_read(s, NULL, n);
        s->crc = mf_file_crc32(s->crc, s->mem + s->pos, (size_t)n);
        s->pos += n;
        return MF_OK;
    }
    while (n > 0) {
        size_t k = n > cap ? cap : (size_t)n;
        mf_status st = src_read(s, scratch, k);
        if (st) return st;
        n -= k;
    }
    return MF_OK;
}

typedef struct header {
    uint32_t major, minor, flags, header_size;
    uint64_t structure_size, data_offset, data_size, tensor_count;
} header;

static mf_status read_header(source *s, header *h)
{
    unsigned char b[MF_HEADER_SIZE];
    uint64_t have = s->size < MF_HEADER_SIZE ? s->size : MF_HEADER_SIZE;
    mf_status st = src_read(s, b, have);
    if (st) return st;
    size_t cmp = have < 8 ? (size_t)have : 8;
    if (have == 0 || memcmp(b, MF_MAGIC, cmp) != 0) {
        if (have >= 8 && memcmp(b, MF_MAGIC, 4) == 0)
            return mf_error_set(MF_EINVAL, 0,
                                "%s: not a moonforge file (its first bytes look altered by a "
                                "text-mode transfer)", s->name);
        return mf_error_set(MF_EINVAL, 0, "%s: not a moonforge file", s->name);
    }
    if (have < 12)
        return mf_error_set(MF_EIO, 0, "%s: truncated file: expected a %d-byte header, got %llu bytes",
                            s->name, MF_HEADER_SIZE, (unsigned long long)have);
    h->major = get_u32(b + 8);
    if (h->major > MF_FILE_VERSION_MAJOR)
        return mf_error_set(MF_EINVAL, 0, "%s: format version %lu is newer than this moonforge (reads %d)",
                            s->name, (unsigned long)h->major, MF_FILE_VERSION_MAJOR);
    if (h->major == 0)
        return mf_error_set(MF_EINVAL, 0, "%s: bad header: format version 0", s->name);
    if (have < MF_HEADER_SIZE)
        return mf_error_set(MF_EIO, 0, "%s: truncated file: expected a %d-byte header, got %llu bytes",
                            s->name, MF_HEADER_SIZE, (unsigned long long)have);
    h->minor = get_u32(b + 12);
    h->flags = get_u32(b + 16);
    h->header_size = get_u32(b + 20);
    h->structure_size = get_u64(b + 24);
    h->data_offset = get_u64(b + 32);
    h->data_size = get_u64(b + 40);
    h->tensor_count = get_u64(b + 48);
    if (h->flags & MF_FLAGS_REQUIRED)
        return mf_error_set(MF_EINVAL, 0,
                            "%s: uses features unknown to this moonforge (flags 0x%lx; file "
                            "version %lu.%lu, reads %d.%d)", s->name,
                            (unsigned long)(h->flags & MF_FLAGS_REQUIRED), (unsigned long)h->major,
                            (unsigned long)h->minor, MF_FILE_VERSION_MAJOR, MF_FILE_VERSION_MINOR);
    if (h->header_size < MF_HEADER_SIZE)
        return mf_error_set(MF_EINVAL, 0, "%s: bad header: header size %lu (at least %d)", s->name,
                            (unsigned long)h->header_size, MF_HEADER_SIZE);
    if (h->data_offset % MF_ALIGN)
        return mf_error_set(MF_EINVAL, 0, "%s: bad header: data offset %llu is not a multiple of %d",
                            s->name, (unsigned long long)h->data_offset, MF_ALIGN);
    if (h->data_offset < h->header_size ||
        h->structure_size > h->data_offset - h->header_size)
        return mf_error_set(MF_EINVAL, 0,
                            "%s: bad header: %llu bytes of structure do not fit between the "
                            "header and the data at offset %llu", s->name,
                            (unsigned long long)h->structure_size,
                            (unsigned long long)h->data_offset);
    if (h->data_size > UINT64_MAX - MF_TRAILER_SIZE - h->data_offset)
        return mf_error_set(MF_EINVAL, 0, "%s: bad header: data size %llu", s->name,
                            (unsigned long long)h->data_size);
    if (h->tensor_count > h->structure_size / MF_TENSOR_REC_MIN)
        return mf_error_set(MF_EINVAL, 0,
                            "%s: bad header: %llu tensors cannot fit in %llu bytes of structure",
                            s->name, (unsigned long long)h->tensor_count,
                            (unsigned long long)h->structure_size);
    /* every section against the file size, before anything is allocated */
    uint64_t size = s->size, st_end = h->header_size + h->structure_size;
    uint64_t data_end = h->data_offset + h->data_size, expected = data_end + MF_TRAILER_SIZE;
    if (size < h->header_size)
        return mf_error_set(MF_EIO, 0, "%s: truncated file: expected a %lu-byte header, got %llu bytes",
                            s->name, (unsigned long)h->header_size, (unsigned long long)size);
    if (size < st_end)
        return mf_error_set(MF_EIO, 0,
                            "%s: truncated file: expected %llu bytes of structure at offset %lu, got %llu",
                            s->name, (unsigned long long)h->structure_size,
                            (unsigned long)h->header_size, (unsigned long long)(size - h->header_size));
    if (size < data_end)
        return mf_error_set(MF_EIO, 0,
                            "%s: truncated file: expected %llu bytes of tensor data at offset %llu, got %llu",
                            s->name, (unsigned long long)h->data_size,
                            (unsigned long long)h->data_offset,
                            (unsigned long long)(size > h->data_offset ? size - h->data_offset : 0));
    if (size < expected)
        return mf_error_set(MF_EIO, 0,
                            "%s: truncated file: expected a %d-byte trailer at offset %llu, got %llu bytes",
                            s->name, MF_TRAILER_SIZE, (unsigned long long)data_end,
                            (unsigned long long)(size - data_end));
    if (size > expected)
        return mf_error_set(MF_EINVAL, 0,
                            "%s: file is %llu bytes but its header accounts for %llu (trailing "
                            "data or a damaged header)", s->name, (unsigned long long)size,
                            (unsigned long long)expected);
    return MF_OK;
}

/* ------------------------------------------------------------------ structure parser */
typedef struct parser {
    const unsigned char *p;
    uint64_t n, pos;      /* within the structure section */
    uint64_t base;        /* file offset of the structure, for messages */
    const char *name;
    const header *h;
    uint64_t data_end;    /* end of the previous tensor's data */
    mf_tensor **tensors;  /* in record order (borrowed from the nodes) */
    uint64_t *offsets;
    uint64_t ntensors;
} parser;

static mf_status bad(const parser *ps, uint64_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static mf_status bad(const parser *ps, uint64_t at, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mf_error_set(MF_EINVAL, 0, "%s: bad record at byte %llu: %s", ps->name,
                        (unsigned long long)(ps->base + at), what);
}

static int need(const parser *ps, uint64_t k) { return k <= ps->n - ps->pos; }

static mf_status parse_tensor(parser *ps, mf_file_node *out, uint64_t at)
{
    if (!need(ps, 2)) return bad(ps, at, "tensor record runs past the end of the structure");
    unsigned code = ps->p[ps->pos], ndim = ps->p[ps->pos + 1];
    ps->pos += 2;
    mf_dtype dt;
    if (!dtype_from_code(code, &dt)) {
        if (ps->h->minor > MF_FILE_VERSION_MINOR)
            return bad(ps, at, "unknown dtype code %u (the file is version %lu.%lu, this "
                       "moonforge reads %d.%d)", code, (unsigned long)ps->h->major,
                       (unsigned long)ps->h->minor, MF_FILE_VERSION_MAJOR, MF_FILE_VERSION_MINOR);
        return bad(ps, at, "unknown dtype code %u", code);
    }
    if (ndim > MF_MAX_DIMS) return bad(ps, at, "tensor of %u dims (at most %d)", ndim, MF_MAX_DIMS);
    if (!need(ps, 8 * (uint64_t)ndim + 8))
        return bad(ps, at, "tensor record runs past the end of the structure");
    int64_t shape[MF_MAX_DIMS];
    uint64_t numel = 1, es = mf_dtype_size(dt), nonzero = 1;
    for (unsigned d = 0; d < ndim; d++, ps->pos += 8) {
        uint64_t v = get_u64(ps->p + ps->pos);
        if (v > (uint64_t)INT64_MAX) return bad(ps, at, "negative size in dim %u", d + 1);
        shape[d] = (int64_t)v;
        /* an empty tensor's other sizes still make its strides: bound them */
        if (v && nonzero > (uint64_t)INT64_MAX / 16 / v)
            return bad(ps, at, "tensor sizes too large");
        nonzero *= v ? v : 1;
        /* bound by the data section: numel * es <= data_size (no overflow) */
        if (v && numel > ps->h->data_size / es / v)
            return bad(ps, at, "tensor larger than the data section (%llu bytes)",
                       (unsigned long long)ps->h->data_size);
        numel *= v;
    }
    uint64_t off = get_u64(ps->p + ps->pos), nbytes = numel * es;
    ps->pos += 8;
    if (off % MF_ALIGN)
        return bad(ps, at, "tensor data offset %llu is not a multiple of %d",
                   (unsigned long long)off, MF_ALIGN);
    if (off < ps->data_end)
        return bad(ps, at, "tensor data at offset %llu overlaps the previous tensor (ends at %llu)",
                   (unsigned long long)off, (unsigned long long)ps->data_end);
    if (off > ps->h->data_size || nbytes > ps->h->data_size - off)
        return bad(ps, at, "tensor data (%llu bytes at offset %llu) runs past the data section "
                   "(%llu bytes)", (unsigned long long)nbytes, (unsigned long long)off,
                   (unsigned long long)ps->h->data_size);
    if (ps->ntensors == ps->h->tensor_count)
        return bad(ps, at, "more tensors than the header counts (%llu)",
                   (unsigned long long)ps->h->tensor_count);
    mf_tensor *t;
    mf_status st = mf_tensor_new(&t, dt, (int)ndim, shape);
    if (st) return st;
    out->kind = MF_FILE_TENSOR;
    out->u.tensor = t;
    ps->tensors[ps->ntensors] = t;
    ps->offsets[ps->ntensors++] = off;
    ps->data_end = off + nbytes;
    return MF_OK;
}

static mf_status parse_value(parser *ps, mf_file_node *out, int depth, int as_key)
{
    uint64_t at = ps->pos;
    if (!need(ps, 1)) return bad(ps, at, "structure ends where a value was expected");
    unsigned tag = ps->p[ps->pos++];
    switch (tag) {
    case REC_FALSE:
    case REC_TRUE:
        out->kind = MF_FILE_BOOL;
        out->u.b = tag == REC_TRUE;
        return MF_OK;
    case REC_INT:
    case REC_FLOAT: {
        if (!need(ps, 8)) return bad(ps, at, "number runs past the end of the structure");
        uint64_t v = get_u64(ps->p + ps->pos);
        ps->pos += 8;
        if (tag == REC_INT) {
            out->kind = MF_FILE_INT;
            out->u.i = (int64_t)v;
            return MF_OK;
        }
        double f;
        memcpy(&f, &v, sizeof f);
        if (as_key && isnan(f)) return bad(ps, at, "NaN key");
        out->kind = MF_FILE_FLOAT;
        out->u.f = f;
        return MF_OK;
    }
    case REC_STRING: {
        if (!need(ps, 8)) return bad(ps, at, "string runs past the end of the structure");
        uint64_t len = get_u64(ps->p + ps->pos);
        ps->pos += 8;
        if (!need(ps, len))
            return bad(ps, at, "string of %llu bytes runs past the end of the structure",
                       (unsigned long long)len);
        char *s = mf_malloc((size_t)len + 1);
        if (!s) return nomem();
        if (len) memcpy(s, ps->p + ps->pos, (size_t)len);
        s[len] = '\0';
        ps->pos += len;
        out->kind = MF_FILE_STRING;
        out->u.s.ptr = s;
        out->u.s.len = (size_t)len;
        return MF_OK;
    }
    case REC_TENSOR:
        if (as_key) return bad(ps, at, "a key must be a bool, number or string, got a tensor");
        return parse_tensor(ps, out, at);
    case REC_TABLE: break;
    case REC_END: return bad(ps, at, "end of table where a value was expected");
    default: return bad(ps, at, "unknown record type 0x%02x", tag);
    }
    if (as_key) return bad(ps, at, "a key must be a bool, number or string, got a table");
    if (depth >= MF_FILE_MAX_DEPTH)
        return bad(ps, at, "tables nested deeper than %d", MF_FILE_MAX_DEPTH);
    if (!need(ps, 16)) return bad(ps, at, "table record runs past the end of the structure");
    uint64_t narr = get_u64(ps->p + ps->pos), nhash = get_u64(ps->p + ps->pos + 8);
    ps->pos += 16;
    /* every record takes at least one byte: counts are bounded by what is left */
    uint64_t left = ps->n - ps->pos;
    if (narr > left || nhash > left / 2 || narr + 2 * nhash > left)
        return bad(ps, at, "table of %llu values and %llu pairs cannot fit in the %llu bytes "
                   "left", (unsigned long long)narr, (unsigned long long)nhash,
                   (unsigned long long)left);
    uint64_t total = narr + 2 * nhash;
    mf_file_node *items = NULL;
    if (total && !(items = mf_calloc((size_t)total, sizeof *items))) return nomem();
    out->kind = MF_FILE_TABLE;
    out->u.t.narr = (int64_t)narr;
    out->u.t.nhash = (int64_t)nhash;
    out->u.t.arr = items;
    out->u.t.keys = items ? items + narr : NULL;
    out->u.t.vals = items ? items + narr + nhash : NULL;
    for (uint64_t i = 0; i < narr; i++) {
        mf_status st = parse_value(ps, &items[i], depth + 1, 0);
        if (st) return st;
    }
    for (uint64_t i = 0; i < nhash; i++) {
        mf_status st = parse_value(ps, &out->u.t.keys[i], depth + 1, 1);
        if (!st) st = parse_value(ps, &out->u.t.vals[i], depth + 1, 0);
        if (st) return st;
    }
    if (!need(ps, 1) || ps->p[ps->pos] != REC_END)
        return bad(ps, ps->pos, "expected the end of the table that starts at byte %llu",
                   (unsigned long long)(ps->base + at));
    ps->pos++;
    return MF_OK;
}

/* ------------------------------------------------------------------ loading */
/* Reads the rest of the data section and the trailer; *ok tells whether the
 * checksum matched. */
static mf_status finish(source *s, const header *h, unsigned char *scratch, size_t cap, int *ok)
{
    uint64_t data_end = h->data_offset + h->data_size;
    mf_status st = src_skip(s, data_end - s->pos, scratch, cap);
    if (st) return st;
    uint32_t crc = s->crc;
    unsigned char trailer[MF_TRAILER_SIZE];
    if ((st = src_read(s, trailer, sizeof trailer)) != MF_OK) return st;
    *ok = get_u32(trailer) == crc && memcmp(trailer + 4, MF_END_MARK, 4) == 0;
    return MF_OK;
}

static mf_status checksum_error(const source *s)
{
    return mf_error_set(MF_EINVAL, 0, "%s: checksum mismatch (file corrupted)", s->name);
}

/* The first bool element that is neither 0 nor 1, or -1. */
static int64_t bad_bool(const mf_tensor *t)
{
    const unsigned char *p = t->base;
    int64_t n = mf_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        if (p[i] > 1) return i;
    return -1;
}

static mf_status load_from(source *s, mf_file_node **out)
{
    header h;
    *out = NULL;
    mf_status st = read_header(s, &h);
    if (st) return st;
    size_t cap = s->size < MF_CHUNK ? (size_t)s->size + 1 : MF_CHUNK; /* scratch for skipped bytes */
    unsigned char *scratch = NULL, *stbuf = NULL;
    mf_file_node *root = mf_calloc(1, sizeof *root);
    parser ps = {.name = s->name, .h = &h, .base = h.header_size, .n = h.structure_size};
    if (h.tensor_count) {
        ps.tensors = mf_malloc((size_t)h.tensor_count * sizeof *ps.tensors);
        ps.offsets = mf_malloc((size_t)h.tensor_count * sizeof *ps.offsets);
    }
    if (s->fd >= 0) {
        scratch = mf_malloc(cap);
        stbuf = mf_malloc((size_t)h.structure_size + 1);
    }
    if (!root || (h.tensor_count && (!ps.tensors || !ps.offsets)) ||
        (s->fd >= 0 && (!scratch || !stbuf))) {
        st = nomem();
        goto done;
    }
    if ((st = src_skip(s, h.header_size - MF_HEADER_SIZE, scratch, cap)) != MF_OK) goto done;
    if (s->fd >= 0) {
        if ((st = src_read(s, stbuf, h.structure_size)) != MF_OK) goto done;
        ps.p = stbuf;
    } else {
        ps.p = s->mem + s->pos;
        if ((st = src_skip(s, h.structure_size, NULL, 0)) != MF_OK) goto done;
    }

    mf_status parse_st = parse_value(&ps, root, 0, 0);
    if (!parse_st && ps.pos != ps.n)
        parse_st = bad(&ps, ps.pos, "%llu bytes after the root value",
                       (unsigned long long)(ps.n - ps.pos));
    if (!parse_st && ps.ntensors != h.tensor_count)
        parse_st = mf_error_set(MF_EINVAL, 0, "%s: the header counts %llu tensors, the structure "
                                "holds %llu", s->name, (unsigned long long)h.tensor_count,
                                (unsigned long long)ps.ntensors);
    if (parse_st == MF_ENOMEM) {
        st = parse_st;
        goto done;
    }
    mf_error saved = *mf_error_get();

    /* the data, straight into each tensor's storage */
    uint64_t bool_tensor = 0;
    int64_t bool_at = -1;
    for (uint64_t i = 0; !parse_st && i < ps.ntensors; i++) {
        mf_tensor *t = ps.tensors[i];
        if ((st = src_skip(s, h.data_offset + ps.offsets[i] - s->pos, scratch, cap)) != MF_OK)
            goto done;
        if ((st = src_read(s, t->base, (uint64_t)mf_tensor_nbytes(t))) != MF_OK) goto done;
        if (!host_is_little_endian())
            swap_elements(t->base, (size_t)mf_tensor_numel(t), mf_dtype_size(t->dtype));
        if (t->dtype == MF_BOOL && bool_at < 0 && (bool_at = bad_bool(t)) >= 0) bool_tensor = i;
    }
    int ok = 0;
    if ((st = finish(s, &h, scratch, cap, &ok)) != MF_OK) goto done;
    if (!ok) {
        st = checksum_error(s);
    } else if (parse_st) {
        st = mf_error_set(saved.code, saved.arg, "%s", saved.msg); /* the parser's */
    } else if (bool_at >= 0) {
        st = mf_error_set(MF_EINVAL, 0, "%s: bool tensor #%llu holds a byte other than 0 or 1 "
                          "(element %lld)", s->name, (unsigned long long)bool_tensor + 1,
                          (long long)bool_at);
    }

done:
    mf_free(scratch);
    mf_free(stbuf);
    mf_free(ps.tensors);
    mf_free(ps.offsets);
    if (st) {
        mf_file_node_free(root);
        return st;
    }
    *out = root;
    return MF_OK;
}

mf_status mf_file_parse(mf_file_node **out, const void *buf, size_t len, const char *name)
{
    source s = {.fd = -1, .mem = buf, .size = len, .name = name ? name : "(buffer)"};
    return load_from(&s, out);
}

mf_status mf_file_load(mf_file_node **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_error(path, NULL, errno);
    struct stat sb;
    mf_status st;
    if (fstat(fd, &sb) != 0) st = sys_error(path, NULL, errno);
    else if (S_ISDIR(sb.st_mode)) st = sys_error(path, NULL, EISDIR);
    else if (!S_ISREG(sb.st_mode))
        st = mf_error_set(MF_EIO, 0, "%s: not a regular file", path);
    else {
        source s = {.fd = fd, .size = (uint64_t)sb.st_size, .name = path};
        st = load_from(&s, out);
    }
    close(fd);
    return st;
}
