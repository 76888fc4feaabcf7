/* test_file.c — the tensor file: layout, round trips, writer misuse,
 * truncation, corruption, version rules, atomic saves and a fuzz loop. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctest.h"
#include "moonforge.h"

/* ------------------------------------------------------------------ helpers */
static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Rewrites the trailer's CRC so that a patched image passes the checksum. */
static void fix_crc(unsigned char *buf, size_t len)
{
    if (len >= 8) wr32(buf + len - 8, mf_file_crc32(0, buf, len - 8));
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* First occurrence of needle in buf[0..n), or NULL (memmem is not POSIX). */
static unsigned char *find(unsigned char *buf, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, needle, k) == 0) return buf + i;
    return NULL;
}

/* A state-dict-like value with every kind of record:
 * {1.5, "x\0y", {true}, weight = [2x3] float32 transposed view,
 *  bias = [3] float64, step = 7 (int), mask = bool [4], scalar = 0-D int64,
 *  empty = [0x5] float32, [-3] = false} */
static mf_status write_sample(mf_file_writer *w, mf_tensor **keep, int nkeep)
{
    mf_tensor *a = NULL, *v = NULL, *wt = NULL, *b = NULL, *m = NULL, *s = NULL, *e = NULL;
    mf_status st = mf_tensor_arange(&a, MF_FLOAT32, 0, 6, 1);
    if (!st) st = mf_tensor_view_as(&v, a, 2, (int64_t[]){3, 2});
    if (!st) st = mf_tensor_transpose(&wt, v, 0, 1); /* [2x3], not contiguous */
    mf_tensor_release(v);
    mf_tensor_release(a);
    if (!st) st = mf_tensor_linspace(&b, MF_FLOAT64, -1, 1, 3);
    if (!st) st = mf_tensor_zeros(&m, MF_BOOL, 1, (int64_t[]){4});
    if (!st) {
        ((unsigned char *)m->base)[1] = 1;
        ((unsigned char *)m->base)[3] = 1;
        st = mf_tensor_new(&s, MF_INT64, 0, NULL);
    }
    if (!st) st = mf_tensor_fill_i64_(s, INT64_MIN + 5);
    if (!st) st = mf_tensor_zeros(&e, MF_FLOAT32, 2, (int64_t[]){0, 5});
    if (st) {
        mf_tensor_release(wt);
        mf_tensor_release(b);
        mf_tensor_release(m);
        mf_tensor_release(s);
        return st;
    }
    mf_tensor *all[] = {wt, b, m, s, e};
    st = mf_file_put_table(w, 3, 7);
    if (!st) st = mf_file_put_float(w, 1.5);
    if (!st) st = mf_file_put_string(w, "x\0y", 3);
    if (!st) st = mf_file_put_table(w, 1, 0);
    if (!st) st = mf_file_put_bool(w, 1);
    if (!st) st = mf_file_put_end(w);
    if (!st) st = mf_file_put_string(w, "weight", 6);
    if (!st) st = mf_file_put_tensor(w, wt);
    if (!st) st = mf_file_put_string(w, "bias", 4);
    if (!st) st = mf_file_put_tensor(w, b);
    if (!st) st = mf_file_put_string(w, "step", 4);
    if (!st) st = mf_file_put_int(w, 7);
    if (!st) st = mf_file_put_string(w, "mask", 4);
    if (!st) st = mf_file_put_tensor(w, m);
    if (!st) st = mf_file_put_string(w, "scalar", 6);
    if (!st) st = mf_file_put_tensor(w, s);
    if (!st) st = mf_file_put_string(w, "empty", 5);
    if (!st) st = mf_file_put_tensor(w, e);
    if (!st) st = mf_file_put_int(w, -3);
    if (!st) st = mf_file_put_bool(w, 0);
    if (!st) st = mf_file_put_end(w);
    for (int i = 0; i < 5; i++) {
        if (i < nkeep) keep[i] = all[i];
        else mf_tensor_release(all[i]);
    }
    return st;
}

/* The sample as a file image (mf_free it). */
static unsigned char *sample_image(size_t *len)
{
    mf_file_writer *w;
    void *buf = NULL;
    *len = 0;
    if (mf_file_writer_new(&w)) return NULL;
    if (write_sample(w, NULL, 0) == MF_OK) mf_file_writer_to_buffer(w, &buf, len);
    mf_file_writer_free(w);
    return buf;
}

static void check_sample(ctest_ctx *ctest_, const mf_file_node *r)
{
    CHECK(r && r->kind == MF_FILE_TABLE);
    if (!r || r->kind != MF_FILE_TABLE) return;
    CHECK_INT(r->u.t.narr, 3);
    CHECK_INT(r->u.t.nhash, 7);
    CHECK(r->u.t.arr[0].kind == MF_FILE_FLOAT && r->u.t.arr[0].u.f == 1.5);
    CHECK(r->u.t.arr[1].kind == MF_FILE_STRING && r->u.t.arr[1].u.s.len == 3 &&
          memcmp(r->u.t.arr[1].u.s.ptr, "x\0y", 4) == 0);
    const mf_file_node *in = &r->u.t.arr[2];
    CHECK(in->kind == MF_FILE_TABLE && in->u.t.narr == 1 && in->u.t.nhash == 0 &&
          in->u.t.arr[0].kind == MF_FILE_BOOL && in->u.t.arr[0].u.b == 1);

    const mf_file_node *n = mf_file_node_field(r, "weight");
    CHECK(n && n->kind == MF_FILE_TENSOR);
    if (n && n->kind == MF_FILE_TENSOR) {
        mf_tensor *t = n->u.tensor;
        CHECK(t->dtype == MF_FLOAT32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
        CHECK(mf_tensor_is_contiguous(t));
        const float want[] = {0, 2, 4, 1, 3, 5}; /* row-major order of the transpose */
        for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)t->base)[i], want[i], 0);
    }
    n = mf_file_node_field(r, "bias");
    CHECK(n && n->kind == MF_FILE_TENSOR && n->u.tensor->dtype == MF_FLOAT64 &&
          ((double *)n->u.tensor->base)[0] == -1.0 && ((double *)n->u.tensor->base)[2] == 1.0);
    n = mf_file_node_field(r, "step");
    CHECK(n && n->kind == MF_FILE_INT && n->u.i == 7);
    n = mf_file_node_field(r, "mask");
    CHECK(n && n->kind == MF_FILE_TENSOR && n->u.tensor->dtype == MF_BOOL &&
          memcmp(n->u.tensor->base, "\0\1\0\1", 4) == 0);
    n = mf_file_node_field(r, "scalar");
    CHECK(n && n->kind == MF_FILE_TENSOR && n->u.tensor->ndim == 0 &&
          *(int64_t *)n->u.tensor->base == INT64_MIN + 5);
    n = mf_file_node_field(r, "empty");
    CHECK(n && n->kind == MF_FILE_TENSOR && n->u.tensor->ndim == 2 &&
          n->u.tensor->shape[0] == 0 && n->u.tensor->shape[1] == 5);
    CHECK(mf_file_node_field(r, "nope") == NULL);
    int found = 0;
    for (int64_t i = 0; i < r->u.t.nhash; i++)
        if (r->u.t.keys[i].kind == MF_FILE_INT && r->u.t.keys[i].u.i == -3)
            found = r->u.t.vals[i].kind == MF_FILE_BOOL && r->u.t.vals[i].u.b == 0;
    CHECK(found);
}

/* A fresh empty directory under /tmp (the caller removes it). */
static void make_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/mf_test_file.XXXXXX");
    if (!mkdtemp(dir)) dir[0] = '\0';
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ cases */
CTEST(crc32_reference_values)
{
    CHECK_INT(mf_file_crc32(0, "", 0), 0);
    CHECK_INT(mf_file_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_INT(mf_file_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    /* incremental over odd splits equals one pass */
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (unsigned char)(i * 7 + 3);
    uint32_t whole = mf_file_crc32(0, buf, sizeof buf);
    uint32_t part = mf_file_crc32(0, buf, 13);
    part = mf_file_crc32(part, buf + 13, 500);
    part = mf_file_crc32(part, buf + 513, 487);
    CHECK_INT(part, whole);
    /* against the bitwise definition */
    uint32_t c = 0xFFFFFFFFu;
    for (int i = 0; i < 1000; i++) {
        c ^= buf[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    CHECK_INT(whole, ~c);
}

CTEST(layout_of_a_small_file)
{
    /* the root value 7: exact bytes, as docs/format.md describes them */
    mf_file_writer *w;
    void *buf;
    size_t len;
    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_int(w, 7));
    CHECK_OK(mf_file_writer_to_buffer(w, &buf, &len));
    mf_file_writer_free(w);
    unsigned char *b = buf;
    CHECK_INT(len, 64 + 64 + 8); /* header, 9 bytes of structure padded to 128, trailer */
    CHECK(memcmp(b, "\x89MFG\r\n\x1a\n", 8) == 0);
    CHECK_INT(rd32(b + 8), 1);   /* major */
    CHECK_INT(rd32(b + 12), 0);  /* minor */
    CHECK_INT(rd32(b + 16), 0);  /* flags */
    CHECK_INT(rd32(b + 20), 64); /* header size */
    CHECK_INT(rd64(b + 24), 9);  /* structure size */
    CHECK_INT(rd64(b + 32), 128);/* data offset */
    CHECK_INT(rd64(b + 40), 0);  /* data size */
    CHECK_INT(rd64(b + 48), 0);  /* tensors */
    CHECK_INT(rd64(b + 56), 0);  /* reserved */
    CHECK_INT(b[64], 0x03);      /* int record */
    CHECK_INT(rd64(b + 65), 7);
    for (size_t i = 73; i < 128; i++) CHECK_INT(b[i], 0);
    CHECK_INT(rd32(b + 128), mf_file_crc32(0, b, 128));
    CHECK(memcmp(b + 132, "MFGE", 4) == 0);
    mf_free(buf);
}

CTEST(tensor_records_and_alignment)
{
    mf_file_writer *w;
    void *buf;
    size_t len;
    mf_tensor *a, *b;
    CHECK_OK(mf_tensor_arange(&a, MF_FLOAT32, 0, 3, 1));                   /* 12 bytes */
    CHECK_OK(mf_tensor_full(&b, MF_INT64, 2, (int64_t[]){2, 2}, -2));     /* 32 bytes */
    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_table(w, 2, 0));
    CHECK_OK(mf_file_put_tensor(w, a));
    CHECK_OK(mf_file_put_tensor(w, b));
    CHECK_OK(mf_file_put_end(w));
    mf_tensor_release(a);
    mf_tensor_release(b); /* the writer holds its own references */
    CHECK_OK(mf_file_writer_to_buffer(w, &buf, &len));
    mf_file_writer_free(w);
    unsigned char *p = buf;
    /* structure: table (17) + tensor 1-D (3 + 8 + 8) + tensor 2-D (3 + 16 + 8) + end (1) */
    CHECK_INT(rd64(p + 24), 17 + 19 + 27 + 1);
    uint64_t data = rd64(p + 32);
    CHECK_INT(data, 128);
    CHECK_INT(rd64(p + 40), 64 + 32);
    CHECK_INT(rd64(p + 48), 2);
    const unsigned char *r = p + 64 + 17;
    CHECK_INT(r[0], 0x06);
    CHECK_INT(r[1], 1); /* float32 */
    CHECK_INT(r[2], 1);
    CHECK_INT(rd64(r + 3), 3);
    CHECK_INT(rd64(r + 11), 0);
    r += 19;
    CHECK_INT(r[1], 3); /* int64 */
    CHECK_INT(r[2], 2);
    CHECK_INT(rd64(r + 19), 64); /* aligned after the 12 bytes of the first */
    CHECK_INT(p[64 + 17 + 19 + 27], 0x08);
    /* little-endian elements */
    float f;
    memcpy(&f, p + data + 4, 4);
    CHECK_INT(rd32(p + data + 4), 0x3F800000u); /* 1.0f */
    CHECK_INT(rd64(p + data + 64), (uint64_t)(int64_t)-2);
    CHECK_INT(len, data + 96 + 8);
    mf_free(buf);
}

CTEST(round_trip_in_memory)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    CHECK(img != NULL);
    mf_file_node *r = NULL;
    CHECK_OK(mf_file_parse(&r, img, len, "mem"));
    check_sample(ctest_, r);
    /* writing the tree again gives the same bytes */
    mf_file_writer *w;
    CHECK_OK(mf_file_writer_new(&w));
    void *again = NULL;
    size_t len2 = 0;
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/again.mf", dir);
    CHECK_OK(mf_file_put_node(w, r));
    CHECK_OK(mf_file_writer_save(w, path));
    mf_file_node *r2 = NULL;
    CHECK_OK(mf_file_load(&r2, path));
    check_sample(ctest_, r2);
    mf_file_node_free(r2);
    FILE *f = fopen(path, "rb");
    if (f) {
        again = malloc(len + 1);
        len2 = fread(again, 1, len + 1, f);
        fclose(f);
    }
    CHECK_INT(len2, len);
    CHECK(again && memcmp(again, img, len) == 0);
    free(again);
    unlink(path);
    rmdir(dir);
    mf_file_writer_free(w);
    mf_file_node_free(r);
    mf_free(img);
}

CTEST(nan_and_special_floats_keep_their_bits)
{
    const double vals[] = {NAN, -0.0, INFINITY, -INFINITY, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        mf_file_writer *w;
        void *buf;
        size_t len;
        mf_file_node *r = NULL;
        CHECK_OK(mf_file_writer_new(&w));
        CHECK_OK(mf_file_put_float(w, vals[i]));
        CHECK_OK(mf_file_writer_to_buffer(w, &buf, &len));
        mf_file_writer_free(w);
        CHECK_OK(mf_file_parse(&r, buf, len, "mem"));
        CHECK(r && r->kind == MF_FILE_FLOAT && memcmp(&r->u.f, &vals[i], 8) == 0);
        mf_file_node_free(r);
        mf_free(buf);
    }
}

CTEST(writer_refuses_misplaced_records)
{
    mf_file_writer *w;
    mf_tensor *t;
    CHECK_OK(mf_tensor_zeros(&t, MF_FLOAT32, 1, (int64_t[]){2}));

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_int(w, 1));
    CHECK_ERR(mf_file_put_int(w, 2), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "after the root value"));
    CHECK_ERR(mf_file_put_int(w, 2), MF_ESTATE, 0); /* unusable from then on */
    mf_file_writer_free(w);

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_table(w, 0, 1));
    CHECK_ERR(mf_file_put_tensor(w, t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "a key must be a bool, number or string, got a tensor"));
    mf_file_writer_free(w);

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_table(w, 0, 1));
    CHECK_ERR(mf_file_put_float(w, NAN), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "NaN key"));
    mf_file_writer_free(w);

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_table(w, 2, 0));
    CHECK_OK(mf_file_put_float(w, NAN)); /* a NaN value is fine */
    CHECK_ERR(mf_file_put_end(w), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "still expecting 1 values and 0 pairs"));
    mf_file_writer_free(w);

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(mf_file_put_table(w, 0, 0));
    CHECK_ERR(mf_file_put_int(w, 1), MF_EINVAL, 0);
    mf_file_writer_free(w);

    CHECK_OK(mf_file_writer_new(&w));
    CHECK_ERR(mf_file_put_end(w), MF_EINVAL, 0);
    mf_file_writer_free(w);

    void *buf;
    size_t len;
    CHECK_OK(mf_file_writer_new(&w));
    CHECK_ERR(mf_file_writer_to_buffer(w, &buf, &len), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "no value written"));
    CHECK_OK(mf_file_put_table(w, 1, 0));
    CHECK_ERR(mf_file_writer_save(w, "/tmp/never-written.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "1 tables not ended"));
    CHECK(access("/tmp/never-written.mf", F_OK) != 0);
    mf_file_writer_free(w);

    /* 64 nested tables are fine, 65 are not */
    CHECK_OK(mf_file_writer_new(&w));
    for (int d = 0; d < MF_FILE_MAX_DEPTH; d++) CHECK_OK(mf_file_put_table(w, 1, 0));
    CHECK_ERR(mf_file_put_table(w, 1, 0), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "nested deeper than 64"));
    mf_file_writer_free(w);
    CHECK_OK(mf_file_writer_new(&w));
    for (int d = 0; d < MF_FILE_MAX_DEPTH; d++) CHECK_OK(mf_file_put_table(w, 1, 0));
    CHECK_OK(mf_file_put_int(w, 1));
    for (int d = 0; d < MF_FILE_MAX_DEPTH; d++) CHECK_OK(mf_file_put_end(w));
    CHECK_OK(mf_file_writer_to_buffer(w, &buf, &len));
    mf_file_node *r = NULL;
    CHECK_OK(mf_file_parse(&r, buf, len, "deep"));
    mf_file_node_free(r);
    mf_free(buf);
    mf_file_writer_free(w);

    mf_tensor_release(t);
}

CTEST(truncated_at_every_length)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    CHECK(img != NULL && len > 400);
    int bad_msgs = 0;
    for (size_t cut = 0; img && cut < len; cut++) {
        mf_file_node *r = (mf_file_node *)1;
        mf_status st = mf_file_parse(&r, img, cut, "t.mf");
        const char *msg = mf_error_get()->msg;
        int good = st != MF_OK && r == NULL &&
                   (contains(msg, "t.mf: truncated file: expected") ||
                    (cut == 0 && contains(msg, "t.mf: not a moonforge file")));
        if (!good && bad_msgs++ < 5)
            fprintf(stderr, "    cut %zu: status %d, \"%s\"\n", cut, (int)st, st ? msg : "");
    }
    CHECK_INT(bad_msgs, 0);
    /* one of each section, exactly */
    mf_file_node *r;
    CHECK_ERR(mf_file_parse(&r, img, 40, "t.mf"), MF_EIO, 0);
    CHECK_STR(mf_error_get()->msg, "t.mf: truncated file: expected a 64-byte header, got 40 bytes");
    CHECK_ERR(mf_file_parse(&r, img, 100, "t.mf"), MF_EIO, 0);
    CHECK(contains(mf_error_get()->msg, "bytes of structure at offset 64, got 36"));
    uint64_t data = rd64(img + 32), dsize = rd64(img + 40);
    CHECK_ERR(mf_file_parse(&r, img, (size_t)data + 10, "t.mf"), MF_EIO, 0);
    char want[200];
    snprintf(want, sizeof want,
             "t.mf: truncated file: expected %llu bytes of tensor data at offset %llu, got 10",
             (unsigned long long)dsize, (unsigned long long)data);
    CHECK_STR(mf_error_get()->msg, want);
    CHECK_ERR(mf_file_parse(&r, img, len - 3, "t.mf"), MF_EIO, 0);
    CHECK(contains(mf_error_get()->msg, "expected a 8-byte trailer"));
    mf_free(img);
}

CTEST(every_corrupted_byte_is_caught)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    int wrong = 0;
    for (size_t i = 0; img && i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            img[i] ^= (unsigned char)(1u << bit);
            mf_file_node *r = NULL;
            mf_status st = mf_file_parse(&r, img, len, "f.mf");
            /* past the header every flip is a checksum mismatch; in the header
             * some fields are checked first (magic, version, sizes) */
            int good = st != MF_OK && r == NULL &&
                       (i < 64 || strcmp(mf_error_get()->msg,
                                         "f.mf: checksum mismatch (file corrupted)") == 0);
            if (!good && wrong++ < 5)
                fprintf(stderr, "    byte %zu bit %d: status %d \"%s\"\n", i, bit, (int)st,
                        st ? mf_error_get()->msg : "");
            mf_file_node_free(r);
            img[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK_INT(wrong, 0);
    mf_free(img);
}

CTEST(magic_and_versions)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    mf_file_node *r = NULL;
    if (!img) return;
    unsigned char *c = malloc(len);
    memcpy(c, img, len);
    memcpy(c, "PK\3\4", 4);
    CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
    CHECK_STR(mf_error_get()->msg, "f.mf: not a moonforge file");
    /* a text-mode transfer turned \r\n into \n */
    memcpy(c, img, len);
    memmove(c + 4, c + 5, len - 5);
    CHECK_ERR(mf_file_parse(&r, c, len - 1, "f.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "text-mode transfer"));
    CHECK_ERR(mf_file_parse(&r, "hello", 5, "f.mf"), MF_EINVAL, 0);
    CHECK_STR(mf_error_get()->msg, "f.mf: not a moonforge file");

    memcpy(c, img, len);
    wr32(c + 8, 2);
    fix_crc(c, len);
    CHECK_ERR(mf_file_parse(&r, c, len, "model.mf"), MF_EINVAL, 0);
    CHECK_STR(mf_error_get()->msg, "model.mf: format version 2 is newer than this moonforge (reads 1)");
    /* only the major version must stay where it is: a v2 file may change the rest */
    CHECK_ERR(mf_file_parse(&r, c, 12, "model.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "format version 2 is newer"));

    /* a newer minor version and optional flags are read */
    memcpy(c, img, len);
    wr32(c + 12, 7);
    wr32(c + 16, 0x00010000u);
    fix_crc(c, len);
    CHECK_OK(mf_file_parse(&r, c, len, "f.mf"));
    check_sample(ctest_, r);
    mf_file_node_free(r);
    r = NULL;
    /* a required feature flag is not */
    wr32(c + 16, 0x2);
    fix_crc(c, len);
    CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "uses features unknown to this moonforge (flags 0x2; file version 1.7, reads 1.0)"));
    /* an unknown dtype in a newer minor version says so */
    memcpy(c, img, len);
    wr32(c + 12, 1);
    const unsigned char *weight = find(c + 64, len - 64, "weight");
    CHECK(weight && weight[6] == 0x06);
    if (weight) {
        c[weight - c + 7] = 9;
        fix_crc(c, len);
        CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
        CHECK(contains(mf_error_get()->msg, "unknown dtype code 9 (the file is version 1.1, this moonforge reads 1.0)"));
    }
    /* extra trailing bytes */
    unsigned char *big = malloc(len + 3);
    memcpy(big, img, len);
    memset(big + len, 0, 3);
    CHECK_ERR(mf_file_parse(&r, big, len + 3, "f.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "trailing data"));
    free(big);
    free(c);
    mf_free(img);
}

CTEST(malformed_structure_is_reported_when_the_checksum_matches)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    mf_file_node *r = NULL;
    if (!img) return;
    unsigned char *c = malloc(len);
    /* bool tensor holding a 2 */
    memcpy(c, img, len);
    const unsigned char *mask = find(c + 64, len - 64, "mask");
    CHECK(mask != NULL);
    if (mask) {
        uint64_t off = rd64(mask + 4 + 3 + 8);
        c[rd64(c + 32) + off + 2] = 2;
        fix_crc(c, len);
        CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
        CHECK(contains(mf_error_get()->msg, "bool tensor #3 holds a byte other than 0 or 1 (element 2)"));
    }
    /* unknown record type right after the root table record */
    memcpy(c, img, len);
    c[64 + 17] = 0x42;
    fix_crc(c, len);
    CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
    CHECK_STR(mf_error_get()->msg, "f.mf: bad record at byte 81: unknown record type 0x42");
    /* the same damage without the CRC fixed is a checksum mismatch */
    memcpy(c, img, len);
    c[64 + 17] = 0x42;
    CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
    CHECK_STR(mf_error_get()->msg, "f.mf: checksum mismatch (file corrupted)");
    /* a huge array count */
    memcpy(c, img, len);
    wr64(c + 64 + 1, UINT64_MAX / 2);
    fix_crc(c, len);
    CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "cannot fit in the"));
    /* a tensor shape larger than the data */
    memcpy(c, img, len);
    const unsigned char *bias = find(c + 64, len - 64, "bias");
    if (bias) {
        wr64(c + (bias - c) + 4 + 3, (uint64_t)1 << 40);
        fix_crc(c, len);
        CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
        CHECK(contains(mf_error_get()->msg, "tensor larger than the data section"));
    }
    /* an empty tensor whose other sizes overflow (its strides would) */
    memcpy(c, img, len);
    const unsigned char *empty = find(c + 64, len - 64, "empty");
    if (empty) {
        CHECK_INT(rd64(empty + 5 + 3), 0);
        wr64(c + (empty - c) + 5 + 3 + 8, (uint64_t)1 << 62);
        fix_crc(c, len);
        CHECK_ERR(mf_file_parse(&r, c, len, "f.mf"), MF_EINVAL, 0);
        CHECK(contains(mf_error_get()->msg, "tensor sizes too large"));
    }
    free(c);
    mf_free(img);
}

CTEST(fuzz_never_crashes)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    if (!img) return;
    unsigned char *c = malloc(len + 64);
    uint64_t structure = rd64(img + 24);
    srand(12345);
    int ok = 0, err = 0, empty_msg = 0, rewrite_failed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = len;
        memcpy(c, img, len);
        int kind = rand() % 6, count = 1 + rand() % 4;
        for (int k = 0; k < count; k++) {
            size_t at = 64 + (size_t)rand() % (size_t)structure; /* mostly the structure */
            switch (kind) {
            case 0: c[at] ^= (unsigned char)(1 + rand() % 255); break;
            case 1: c[(size_t)rand() % len] = (unsigned char)rand(); break;
            case 2: { /* a length or count: small, big, or off by a little */
                static const uint64_t vals[] = {0, 1, 2, 7, 8, 63, 64, 65, 255, 1u << 20,
                                                UINT32_MAX, INT64_MAX, UINT64_MAX};
                uint64_t v = vals[(size_t)rand() % (sizeof vals / sizeof vals[0])];
                if (at + 8 <= len) wr64(c + at, rand() % 2 ? v : rd64(c + at) + (uint64_t)(rand() % 5) - 2);
                break;
            }
            case 3: if (at + 1 <= len) c[at] = (unsigned char)(rand() % 10); break; /* record tags */
            case 4: { /* a header field */
                size_t f = 8 + 4 * (size_t)(rand() % 14);
                c[f + (size_t)rand() % 4] ^= (unsigned char)(1u << (rand() % 8));
                break;
            }
            default: n = (size_t)rand() % (len + 64); /* shorter or longer */
                if (n > len) memset(c + len, rand() & 0xFF, n - len);
                break;
            }
        }
        fix_crc(c, n);
        mf_file_node *r = NULL;
        mf_status st = mf_file_parse(&r, c, n, "fuzz");
        if (st == MF_OK) {
            ok++;
            /* a valid tree: it writes and reads back */
            mf_file_writer *w;
            void *buf = NULL;
            size_t blen;
            mf_file_node *r2 = NULL;
            if (mf_file_writer_new(&w) == MF_OK) {
                if (mf_file_put_node(w, r) != MF_OK || mf_file_writer_to_buffer(w, &buf, &blen) != MF_OK ||
                    mf_file_parse(&r2, buf, blen, "again") != MF_OK)
                    rewrite_failed++;
                mf_file_writer_free(w);
            }
            mf_file_node_free(r2);
            mf_free(buf);
            mf_file_node_free(r);
        } else {
            err++;
            if (mf_error_get()->msg[0] == '\0' || r != NULL) empty_msg++;
        }
    }
    CHECK(err > 1000);
    CHECK(ok > 10); /* some mutations keep a valid file (e.g. changed values) */
    CHECK_INT(empty_msg, 0);
    CHECK_INT(rewrite_failed, 0);
    free(c);
    mf_free(img);
}

CTEST(allocation_failures_are_clean)
{
    size_t len;
    unsigned char *img = sample_image(&len);
    if (!img) return;
    int bad_status = 0;
    for (long n = 1; n < 40; n++) {
        mf_file_node *r = NULL;
        mf_mem_fail_after(n);
        mf_status st = mf_file_parse(&r, img, len, "f.mf");
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            check_sample(ctest_, r);
            mf_file_node_free(r);
            break;
        }
        if (st != MF_ENOMEM) bad_status++;
    }
    CHECK_INT(bad_status, 0);
    for (long n = 1; n < 40; n++) {
        mf_file_writer *w = NULL;
        void *buf = NULL;
        size_t blen;
        mf_mem_fail_after(n);
        mf_status st = mf_file_writer_new(&w);
        if (!st) st = write_sample(w, NULL, 0);
        if (!st) st = mf_file_writer_to_buffer(w, &buf, &blen);
        mf_mem_fail_after(0);
        mf_file_writer_free(w);
        if (st == MF_OK) {
            CHECK(blen == len && memcmp(buf, img, len) == 0);
            mf_free(buf);
            break;
        }
    }
    mf_free(img);
}

CTEST(files_on_disk)
{
    char dir[64], path[160], sub[160];
    make_dir(dir, sizeof dir);
    CHECK(dir[0] != '\0');
    snprintf(path, sizeof path, "%s/model.mf", dir);
    mf_file_writer *w;
    CHECK_OK(mf_file_writer_new(&w));
    CHECK_OK(write_sample(w, NULL, 0));
    CHECK_OK(mf_file_writer_save(w, path));
    CHECK_INT(count_entries(dir), 1); /* no temporary file left */
    struct stat sb;
    mode_t mask = umask(022);
    umask(mask);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == (0666 & ~mask));
    mf_file_node *r = NULL;
    CHECK_OK(mf_file_load(&r, path));
    check_sample(ctest_, r);
    mf_file_node_free(r);

    /* saving again replaces the file */
    CHECK_OK(mf_file_writer_save(w, path));
    CHECK_INT(count_entries(dir), 1);

    /* errors name the path and the system error */
    snprintf(sub, sizeof sub, "%s/missing.mf", dir);
    CHECK_ERR(mf_file_load(&r, sub), MF_EIO, 0);
    char want[256];
    snprintf(want, sizeof want, "%s: No such file or directory", sub);
    CHECK_STR(mf_error_get()->msg, want);
    CHECK_ERR(mf_file_load(&r, dir), MF_EIO, 0);
    snprintf(want, sizeof want, "%s: Is a directory", dir);
    CHECK_STR(mf_error_get()->msg, want);
    CHECK_ERR(mf_file_writer_save(w, dir), MF_EIO, 0);
    CHECK_STR(mf_error_get()->msg, want);
    snprintf(sub, sizeof sub, "%s/no/such/dir.mf", dir);
    CHECK_ERR(mf_file_writer_save(w, sub), MF_EIO, 0);
    snprintf(want, sizeof want, "%s: No such file or directory", sub);
    CHECK_STR(mf_error_get()->msg, want);
    snprintf(sub, sizeof sub, "%s/model.mf/x.mf", dir); /* a file as a directory */
    CHECK_ERR(mf_file_writer_save(w, sub), MF_EIO, 0);
    CHECK(contains(mf_error_get()->msg, "Not a directory"));
    CHECK_ERR(mf_file_load(&r, "/dev/null"), MF_EIO, 0);
    CHECK_STR(mf_error_get()->msg, "/dev/null: not a regular file");

    /* a write that fails midway (file size limit) leaves the old file whole */
    struct rlimit old, lim;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 200;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    mf_file_writer *w2;
    mf_tensor *big;
    CHECK_OK(mf_tensor_zeros(&big, MF_FLOAT64, 1, (int64_t[]){1000}));
    CHECK_OK(mf_file_writer_new(&w2));
    CHECK_OK(mf_file_put_tensor(w2, big));
    mf_tensor_release(big);
    CHECK_ERR(mf_file_writer_save(w2, path), MF_EIO, 0);
    CHECK(contains(mf_error_get()->msg, "model.mf: write: File too large"));
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    mf_file_writer_free(w2);
    CHECK_INT(count_entries(dir), 1);
    CHECK_OK(mf_file_load(&r, path));
    check_sample(ctest_, r);
    mf_file_node_free(r);

    /* a directory we may not write to (root may write anywhere but sysfs) */
    snprintf(sub, sizeof sub, "%s/ro", dir);
    mkdir(sub, 0555);
    snprintf(path, sizeof path, "%s", geteuid() == 0 ? "/sys/kernel/mf-test.mf" : "");
    if (!path[0]) snprintf(path, sizeof path, "%s/ro/x.mf", dir);
    if (access("/sys/kernel", F_OK) == 0 || geteuid() != 0) {
        CHECK_ERR(mf_file_writer_save(w, path), MF_EIO, 0);
        snprintf(want, sizeof want, "%s: Permission denied", path);
        CHECK_STR(mf_error_get()->msg, want);
    }
    rmdir(sub);
    mf_file_writer_free(w);
    snprintf(path, sizeof path, "%s/model.mf", dir);
    unlink(path);
    CHECK(rmdir(dir) == 0);
}

const ctest_case ctest_file[] = {
    CTEST_ENTRY(crc32_reference_values),
    CTEST_ENTRY(layout_of_a_small_file),
    CTEST_ENTRY(tensor_records_and_alignment),
    CTEST_ENTRY(round_trip_in_memory),
    CTEST_ENTRY(nan_and_special_floats_keep_their_bits),
    CTEST_ENTRY(writer_refuses_misplaced_records),
    CTEST_ENTRY(truncated_at_every_length),
    CTEST_ENTRY(every_corrupted_byte_is_caught),
    CTEST_ENTRY(magic_and_versions),
    CTEST_ENTRY(malformed_structure_is_reported_when_the_checksum_matches),
    CTEST_ENTRY(fuzz_never_crashes),
    CTEST_ENTRY(allocation_failures_are_clean),
    CTEST_ENTRY(files_on_disk),
    {NULL, NULL},
};
