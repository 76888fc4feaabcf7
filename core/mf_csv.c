/*
 * mf_csv.c — the CSV reader (see mf_csv.h).
 *
 * The file is streamed through one reused buffer: it holds the carry-over of
 * the previous block (an incomplete record) followed by up to a block of new
 * bytes. Each block is split into one piece per thread, each piece starting
 * after a line break; pieces are parsed in parallel straight into per-column
 * 8-byte slots (an int64, a double, 0/1, or for string columns a reference
 * to the text in the buffer). A piece other than the first starts on the
 * guess that its line break is not inside quotes; the pieces are then checked
 * in order (piece k must start where piece k-1 ended) and a piece whose guess
 * was wrong is parsed again from the right place. The checked pieces are
 * appended to the columns in row order, one column per thread at a time
 * (strings are interned there, in row order), so that the result never
 * depends on the number of threads. The buffer is never written by the
 * parsers: quoted fields with doubled quotes are unescaped when interned.
 *
 * Types are inferred over the whole column: a column starts as "numeric" or
 * "string" from a look at the first records; a numeric column stores int64
 * while every cell is an integer and turns float64 at the first other cell;
 * a string column keeps codes and is typed at the end from its levels (a
 * level is parsed once). A numeric column that turns out mostly non-numeric
 * (it needs its texts, which were not kept) is read again as a string column
 * by a second pass over the file that parses only those columns.
 */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include "mf_csv_impl.h"
#include "mf_thread.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const default_na[] = {"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", NULL};

#define DEFAULT_BLOCK ((size_t)2 << 20)
static size_t block_size = DEFAULT_BLOCK;

void mf_csv_set_block_size(size_t bytes) { block_size = bytes ? bytes : DEFAULT_BLOCK; }

void mf_csv_options_default(mf_csv_options *o)
{
    o->sep = ',';
    o->header = 1;
    o->na_values = NULL;
    o->skip_rows = 0;
    o->max_rows = -1;
    o->on_bad_lines = MF_CSV_BAD_ERROR;
}

static mf_status nomem(void) { return mf_error_set(MF_ENOMEM, 0, "not enough memory"); }

static const char *type_name(int t)
{
    switch (t) {
    case MF_CSV_FLOAT64: return "float64";
    case MF_CSV_INT64: return "int64";
    case MF_CSV_BOOL: return "bool";
    default: return "string";
    }
}

/* ------------------------------------------------------------------ cell references */
/* A string cell: offset in the buffer (32 bits), length (31 bits), and whether
 * it holds doubled quotes to unescape (the top bit). */
#define REF_MISSING UINT64_MAX
#define REF_ESC (UINT64_C(1) << 63)
#define MAX_FIELD ((size_t)0x7FFFFFFE)
#define MAX_BUF ((size_t)0xFFFFFFF0)

static uint64_t mkref(size_t off, size_t len, int esc)
{
    return (uint64_t)off | ((uint64_t)len << 32) | (esc ? REF_ESC : 0);
}
static size_t ref_off(uint64_t r) { return (size_t)(r & 0xFFFFFFFFu); }
static size_t ref_len(uint64_t r) { return (size_t)((r >> 32) & 0x7FFFFFFFu); }

/* ------------------------------------------------------------------ level pools */
typedef struct pool_chunk {
    struct pool_chunk *next;
    size_t used, cap;
    char data[];
} pool_chunk;

static void pool_free(void *p)
{
    pool_chunk *c = p;
    while (c) {
        pool_chunk *n = c->next;
        mf_free(c);
        c = n;
    }
}

/* A copy of s[0..n) with a NUL, in the pool at *head. */
static char *pool_dup(pool_chunk **head, const char *s, size_t n)
{
    pool_chunk *c = *head;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > ((size_t)1 << 20) ? n + 1 : ((size_t)1 << 20);
        pool_chunk *nc = mf_malloc(sizeof *nc + cap);
        if (!nc) return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        *head = c = nc;
    }
    char *d = c->data + c->used;
    memcpy(d, s, n);
    d[n] = '\0';
    c->used += n + 1;
    return d;
}

/* ------------------------------------------------------------------ string tables */
typedef struct strtab {
    uint32_t *slots;   /* open addressing: level index + 1, 0 = empty */
    size_t mask;
    char **lv;         /* level texts (in the pool) */
    uint32_t *lens;
    uint32_t *hash;    /* low bits of each level's hash */
    int64_t n, cap;
    pool_chunk *pool;
    char *scratch;     /* unescaped text of a quoted field */
    size_t scratch_cap;
} strtab;

static void strtab_free(strtab *s)
{
    mf_free(s->slots);
    mf_free(s->lv);
    mf_free(s->lens);
    mf_free(s->hash);
    pool_free(s->pool);
    mf_free(s->scratch);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * UINT64_C(0xFF51AFD7ED558CCD);
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * UINT64_C(0xC4CEB9FE1A85EC53);
    }
    h ^= h >> 33;
    h *= UINT64_C(0xFF51AFD7ED558CCD);
    h ^= h >> 33;
    return h;
}

static int strtab_rehash(strtab *s, size_t ncap)
{
    uint32_t *slots = mf_calloc(ncap, sizeof *slots);
    if (!slots) return 0;
    size_t mask = ncap - 1;
    for (int64_t k = 0; k < s->n; k++) {
        size_t h = s->hash[k] & mask;
        while (slots[h]) h = (h + 1) & mask;
        slots[h] = (uint32_t)(k + 1);
    }
    mf_free(s->slots);
    s->slots = slots;
    s->mask = mask;
    return 1;
}

/* The 1-based code of text s[0..n), adding it as a new level when unseen:
 * returns 0 when out of memory, -1 when a new level is not valid UTF-8. */
static int64_t strtab_intern_h(strtab *s, const char *t, size_t n, uint64_t hh)
{
    if (!s->slots && !strtab_rehash(s, 1024)) return 0;
    uint32_t h32 = (uint32_t)hh;
    size_t h = hh & s->mask;
    for (;;) {
        uint32_t k = s->slots[h];
        if (k == 0) break;
        if (s->hash[k - 1] == h32 && s->lens[k - 1] == n && memcmp(s->lv[k - 1], t, n) == 0)
            return (int64_t)k;
        h = (h + 1) & s->mask;
    }
    if (!mf_csv__utf8_valid((const unsigned char *)t, n)) return -1;
    if (s->n == s->cap) {
        int64_t ncap = s->cap ? s->cap * 2 : 256;
        char **lv = mf_malloc((size_t)ncap * sizeof *lv);
        uint32_t *lens = mf_malloc((size_t)ncap * sizeof *lens);
        uint32_t *hs = mf_malloc((size_t)ncap * sizeof *hs);
        if (!lv || !lens || !hs) {
            mf_free(lv);
            mf_free(lens);
            mf_free(hs);
            return 0;
        }
        if (s->n) {
            memcpy(lv, s->lv, (size_t)s->n * sizeof *lv);
            memcpy(lens, s->lens, (size_t)s->n * sizeof *lens);
            memcpy(hs, s->hash, (size_t)s->n * sizeof *hs);
        }
        mf_free(s->lv);
        mf_free(s->lens);
        mf_free(s->hash);
        s->lv = lv, s->lens = lens, s->hash = hs, s->cap = ncap;
    }
    char *d = pool_dup(&s->pool, t, n);
    if (!d) return 0;
    s->lv[s->n] = d;
    s->lens[s->n] = (uint32_t)n;
    s->hash[s->n] = h32;
    s->slots[h] = (uint32_t)(s->n + 1);
    s->n++;
    if ((size_t)s->n * 2 > s->mask + 1 && !strtab_rehash(s, (s->mask + 1) * 2)) {
        /* the level is in; the table just stays fuller (rehash retried later) */
    }
    return s->n;
}

static void prefetch(const void *p)
{
#if defined(__GNUC__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

/* ------------------------------------------------------------------ reader state */
enum { ST_SKIP = 0, ST_NUM, ST_STR, ST_BOOL, ST_REREAD };

/* Errors found while parsing a piece, formatted once the piece is known valid. */
enum { E_NONE = 0, E_UNTERM, E_AFTERQ, E_FIELDS, E_CAST, E_NOMEM, E_TOOLONG };

typedef struct perr {
    int kind;
    int64_t rel_line;  /* 0-based line relative to the piece start */
    int64_t a, b;      /* field number / expected / got */
    int64_t col;       /* file column of a cast error */
    int what;          /* E_CAST: 0 missing, 1 a cell */
    char cell[64];
} perr;

typedef struct pcol {
    int is_float;
    int64_t n_missing, n_junk; /* the other cells of a numeric column are numbers */
    int64_t junk_rows[MF_CSV_MAX_LINES]; /* piece rows */
} pcol;

typedef struct fld {
    size_t off, len;
    int quoted, esc;
} fld;

typedef struct piece {
    size_t start, stop, end;
    int status;          /* P_OK, P_MORE, P_ERR */
    int64_t limit;       /* stop after this many rows (< 0: no limit) */
    int64_t lines;       /* line breaks from start to end */
    int64_t nrows, cap;
    uint64_t **slots;    /* [nkept][cap] */
    int64_t *row_line;   /* [cap] 0-based line of each row, relative to start */
    size_t *row_end;     /* [cap] buffer offset after each row */
    int64_t *row_end_line;
    pcol *pc;            /* [nkept] */
    int64_t *bad;        /* pairs (rows before, relative line) */
    int64_t nbad, capbad;
    fld *f;              /* [ncols + 1] fields of the record being parsed */
    struct cellv *cv;    /* [nkept] cells of the record being parsed */
    int64_t *pend;       /* [nkept] */
    perr err;
} piece;

enum { P_OK = 0, P_MORE, P_ERR };

typedef struct rcol {
    int64_t j;           /* file column */
    int state;
    int forced;          /* -1: inferred, else the mf_csv_type asked for */
    int fixed;           /* the type was fixed by the first chunk */
    int is_float;        /* ST_NUM: the values are doubles */
    int64_t n_missing, n_junk, n_num;
    int64_t junk_rows[MF_CSV_MAX_LINES];
    mf_tensor *vals;     /* [cap] 8-byte slots */
    int64_t cap;
    strtab st;           /* ST_STR */
    int64_t level_base;  /* levels handed out by earlier chunks */
    int64_t err_row;     /* merge error: invalid UTF-8 at this row (-1 none), or -2 nomem */
} rcol;

struct mf_csv_reader {
    char *path;
    mf_csv_options o;
    const char *const *na;
    size_t *na_len;
    size_t na_maxlen;
    unsigned char na_first[256]; /* first bytes of the missing-value strings */
    int na_empty;                /* "" is a missing value */
    int na_plain;                /* no missing-value string looks like a number */
    FILE *f;
    int eof;
    int64_t file_size;
    char *buf;
    size_t cap, n, pos;  /* buffer capacity, bytes in it, start of the unparsed part */
    int64_t line;        /* 1-based line at pos */
    int64_t ncols;
    char **names;
    int configured, started, whole, first_chunk_done;
    rcol *cols;          /* [nkept] */
    int64_t nkept;
    int64_t *kept_of;    /* [ncols] index into cols, or -1 */
    piece *pieces;
    int npieces;
    int64_t rows;        /* rows of the table being built */
    int64_t *lmap;       /* pairs (row, line): line numbers of rows (see line_of_row) */
    int64_t nlmap, caplmap;
    int64_t n_bad, bad_lines[MF_CSV_MAX_LINES];
    int64_t est_rows;    /* capacity to reserve for the columns */
    double bytes_per_row;
    unsigned char special[256];
};

static int grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap) return 1;
    int64_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    void *q = mf_malloc((size_t)ncap * elem);
    if (!q) return 0;
    if (*p) {
        memcpy(q, *p, (size_t)*cap * elem);
        mf_free(*p);
    }
    *p = q;
    *cap = ncap;
    return 1;
}

static int is_na(const mf_csv_reader *r, const char *s, size_t len)
{
    if (len == 0) return r->na_empty;
    if (len > r->na_maxlen || !r->na_first[(unsigned char)s[0]]) return 0;
    for (size_t k = 0; r->na[k]; k++)
        if (r->na_len[k] == len && memcmp(r->na[k], s, len) == 0) return 1;
    return 0;
}

/* The 1-based line of table row `row`: lmap holds (row, line) wherever the
 * line is not the previous row's plus one. */
static int64_t line_of_row(const mf_csv_reader *r, int64_t row)
{
    int64_t lo = 0, hi = r->nlmap - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (r->lmap[2 * mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return r->lmap[2 * lo + 1] + (row - r->lmap[2 * lo]);
}

/* ------------------------------------------------------------------ file buffer */
/* Moves the unparsed part to the front and reads more: up to a block, or
 * (grow) doubles the buffer when the unparsed part holds no whole record.
 * Checks the new bytes for NUL. */
static mf_status fill(mf_csv_reader *r, int grow_buf)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->n - r->pos);
        r->n -= r->pos;
        r->pos = 0;
    }
    size_t want = r->n + block_size;
    if (grow_buf && want < r->cap * 2) want = r->cap * 2;
    if (want > MAX_BUF) want = MAX_BUF;
    if (want <= r->n) return mf_error_set(MF_EINVAL, 0, "%s:%lld: record too long", r->path, (long long)r->line);
    if (want > r->cap) {
        /* some room to spare, so that the next carry-over fits without a move */
        size_t ncap = want + want / 8 > MAX_BUF ? MAX_BUF : want + want / 8;
        char *nb = mf_malloc(ncap + 1);
        if (!nb) return nomem();
        if (r->n) memcpy(nb, r->buf, r->n);
        mf_free(r->buf);
        r->buf = nb;
        r->cap = ncap;
    }
    size_t old = r->n;
    while (!r->eof && r->n < want) {
        size_t got = fread(r->buf + r->n, 1, want - r->n, r->f);
        r->n += got;
        if (got == 0) {
            if (ferror(r->f)) return mf_error_set(MF_EIO, 0, "%s: read error", r->path);
            r->eof = 1;
        }
    }
    r->buf[r->n] = '\0';
    const char *nul = memchr(r->buf + old, '\0', r->n - old);
    if (nul) {
        int64_t line = r->line;
        const char *b = r->buf;
        for (size_t i = 0; i < (size_t)(nul - b); i++)
            if (b[i] == '\n' || (b[i] == '\r' && b[i + 1] != '\n')) line++;
        return mf_error_set(MF_EINVAL, 0, "%s:%lld: NUL byte in the file", r->path, (long long)line);
    }
    return MF_OK;
}

/* ------------------------------------------------------------------ records */
enum { REC_OK = 0, REC_MORE, REC_ERR };

static int quoted_field(const mf_csv_reader *r, size_t *pp, size_t *start, size_t *len, int *esc,
                        int64_t *line, perr *e, int64_t field);

/*
 * Splits the record at b[p..] into fields (the first maxf are stored in f;
 * *nf counts all). On REC_OK, *end is past its line break and *lines counts the
 * line breaks it holds. REC_MORE: the buffer ends inside it (not at the end of
 * the file). REC_ERR: *e is filled (lines relative to the record start).
 */
static int split_record(const mf_csv_reader *r, size_t p, fld *f, size_t maxf, size_t *nf,
                        size_t *end, int64_t *lines, perr *e)
{
    const char *b = r->buf;
    const size_t n = r->n;
    const int final = r->eof;
    const char sep = r->o.sep;
    const unsigned char *special = r->special;
    int64_t line = 0;
    size_t k = 0;
    for (;;) {
        size_t start, len;
        int quoted = 0, esc = 0;
        if (p < n && b[p] == '"') {
            int st = quoted_field(r, &p, &start, &len, &esc, &line, e, (int64_t)k + 1);
            if (st != REC_OK) return st;
            quoted = 1;
        } else {
            start = p;
            while (p < n && !special[(unsigned char)b[p]]) p++;
            len = p - start;
        }
        if (len > MAX_FIELD) {
            e->kind = E_TOOLONG;
            e->rel_line = line;
            return REC_ERR;
        }
        if (k < maxf) {
            f[k].off = start;
            f[k].len = len;
            f[k].quoted = quoted;
            f[k].esc = esc;
        }
        k++;
        if (p < n && b[p] == sep) {
            p++;
            continue;
        }
        break;
    }
    if (p >= n) {
        if (!final) return REC_MORE;
    } else if (b[p] == '\r') {
        if (p + 1 >= n && !final) return REC_MORE;
        p++;
        if (p < n && b[p] == '\n') p++;
        line++;
    } else {
        p++;
        line++;
    }
    *nf = k;
    *end = p;
    *lines = line;
    return REC_OK;
}

static int is_blank(size_t nf, const fld *f) { return nf == 1 && f[0].len == 0 && !f[0].quoted; }

/* ------------------------------------------------------------------ pieces */
static void piece_free_bufs(piece *pc, int64_t nkept)
{
    if (pc->slots)
        for (int64_t k = 0; k < nkept; k++) mf_free(pc->slots[k]);
    mf_free(pc->slots);
    mf_free(pc->row_line);
    mf_free(pc->row_end);
    mf_free(pc->row_end_line);
    mf_free(pc->pc);
    mf_free(pc->bad);
    mf_free(pc->f);
    mf_free(pc->cv);
    mf_free(pc->pend);
    memset(pc, 0, sizeof *pc);
}

static int piece_grow(piece *pc, int64_t nkept, int64_t need)
{
    if (need <= pc->cap) return 1;
    int64_t ncap = pc->cap ? pc->cap : 1024;
    while (ncap < need) ncap *= 2;
    for (int64_t k = 0; k < nkept; k++) {
        uint64_t *q = mf_malloc((size_t)ncap * sizeof *q);
        if (!q) return 0;
        if (pc->nrows) memcpy(q, pc->slots[k], (size_t)pc->nrows * sizeof *q);
        mf_free(pc->slots[k]);
        pc->slots[k] = q;
    }
    int64_t c1 = pc->cap, c2 = pc->cap, c3 = pc->cap;
    if (!grow((void **)&pc->row_line, &c1, ncap, sizeof(int64_t)) ||
        !grow((void **)&pc->row_end, &c2, ncap, sizeof(size_t)) ||
        !grow((void **)&pc->row_end_line, &c3, ncap, sizeof(int64_t)))
        return 0;
    pc->cap = ncap;
    return 1;
}

static void to_float(uint64_t *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t x;
        memcpy(&x, &v[i], 8);
        double d = (double)x;
        memcpy(&v[i], &d, 8);
    }
}

static void cast_error(piece *pc, int64_t rel_line, int64_t j, const char *s, size_t len, int what)
{
    pc->err.kind = E_CAST;
    pc->err.rel_line = rel_line;
    pc->err.col = j;
    pc->err.what = what;
    size_t m = len < sizeof pc->err.cell - 4 ? len : sizeof pc->err.cell - 4;
    memcpy(pc->err.cell, s, m);
    if (m < len) memcpy(pc->err.cell + m, "...", 3), m += 3;
    pc->err.cell[m] = '\0';
}

/* A cell of the record being parsed, kept until the record is known whole. */
enum { C_MISS, C_INT, C_FLT, C_JUNK, C_REF, C_BOOL, C_ERR_MISS, C_ERR_CELL, C_NOMEM };
typedef struct cellv {
    uint64_t v;
    int cls;
    size_t off, len; /* of a cast error */
} cellv;

/*
 * The common numeric cells without a second look: [+-]digits (at most 18)
 * or [+-]digits.digits (at most 15 digits), ended by a separator, a line
 * break or the end of the buffer (*e is the NUL fill() puts there). Returns
 * 2 (int), 1 (float) with *endp at the end, or 0 to leave the cell to the
 * general path. Same results as mf_csv__parse_num.
 */
static int fast_num(const char *p, const char *e, const unsigned char *special, const char **endp,
                    int64_t *iv, double *dv)
{
    static const double p10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    /* *e is the NUL after the buffer's bytes: the digit loops need no bound */
    int neg = 0;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    const char *d0 = p;
    uint64_t m = 0;
    while ((unsigned)(*p - '0') < 10u) m = m * 10 + (uint64_t)(*p++ - '0');
    size_t nint = (size_t)(p - d0);
    if (p == e || special[(unsigned char)*p]) {
        if (nint == 0 || nint > 18) return 0;
        *iv = neg ? -(int64_t)m : (int64_t)m;
        *dv = (double)*iv;
        *endp = p;
        return 2;
    }
    if (*p != '.' || nint > 15) return 0;
    const char *f0 = ++p;
    while ((unsigned)(*p - '0') < 10u) m = m * 10 + (uint64_t)(*p++ - '0');
    size_t nfrac = (size_t)(p - f0);
    if ((p < e && !special[(unsigned char)*p]) || nint + nfrac > 15 || nint + nfrac == 0) return 0;
    double d = (double)m / p10[nfrac];
    *dv = neg ? -d : d;
    *endp = p;
    return 1;
}

/* Classifies field s[0..len) of kept column c into *cv. */
static void classify_cell(const mf_csv_reader *r, const rcol *c, size_t off, size_t len, int quoted, int esc,
                          cellv *cv)
{
    const char *s = r->buf + off;
    switch (c->state) {
    case ST_NUM: {
        int64_t iv;
        double dv;
        if (!quoted && is_na(r, s, len)) {
            cv->cls = c->forced == MF_CSV_INT64 ? C_ERR_MISS : C_MISS;
            break;
        }
        int kind = esc ? 0 : mf_csv__parse_num(s, len, &iv, &dv);
        if (kind < 0) {
            cv->cls = C_NOMEM;
        } else if (kind == 2) {
            cv->cls = C_INT;
            memcpy(&cv->v, &iv, 8);
        } else if (c->forced == MF_CSV_INT64) {
            cv->cls = C_ERR_CELL;
        } else if (kind == 1) {
            cv->cls = C_FLT;
            memcpy(&cv->v, &dv, 8);
        } else {
            cv->cls = C_JUNK;
        }
        break;
    }
    case ST_STR:
        cv->cls = C_REF;
        cv->v = !quoted && is_na(r, s, len) ? REF_MISSING : mkref(off, len, esc);
        break;
    case ST_BOOL: {
        int bv = 0;
        if (!quoted && is_na(r, s, len)) cv->cls = C_ERR_MISS;
        else if (esc || !mf_csv__parse_bool(s, len, &bv)) cv->cls = C_ERR_CELL;
        else cv->cls = C_BOOL, cv->v = (uint64_t)bv;
        break;
    }
    default: cv->cls = C_MISS; break;
    }
    cv->off = off;
    cv->len = len;
}

/*
 * A quoted field at b[*pp] (the opening quote): on REC_OK *pp is past the
 * closing quote, the text is [*start, *start + *len) and *lines counts its
 * line breaks; REC_MORE / REC_ERR as split_record.
 */
static int quoted_field(const mf_csv_reader *r, size_t *pp, size_t *start, size_t *len, int *esc,
                        int64_t *line, perr *e, int64_t field)
{
    const char *b = r->buf;
    const size_t n = r->n;
    const int final = r->eof;
    size_t p = *pp + 1;
    int64_t qline = *line;
    *start = p;
    *esc = 0;
    for (;;) {
        while (p < n && b[p] != '"' && b[p] != '\n' && b[p] != '\r') p++;
        if (p >= n) {
            if (!final) return REC_MORE;
            e->kind = E_UNTERM;
            e->rel_line = qline;
            return REC_ERR;
        }
        char c = b[p];
        if (c == '"') {
            if (p + 1 >= n && !final) return REC_MORE;
            if (p + 1 < n && b[p + 1] == '"') {
                *esc = 1;
                p += 2;
                continue;
            }
            break;
        }
        if (c == '\n') {
            (*line)++;
        } else {
            if (p + 1 >= n && !final) return REC_MORE;
            if (p + 1 >= n || b[p + 1] != '\n') (*line)++;
        }
        p++;
    }
    *len = p - *start;
    p++;
    if (p < n && b[p] != r->o.sep && b[p] != '\n' && b[p] != '\r') {
        e->kind = E_AFTERQ;
        e->rel_line = *line;
        e->a = field;
        return REC_ERR;
    }
    if (*len > MAX_FIELD) {
        e->kind = E_TOOLONG;
        e->rel_line = *line;
        return REC_ERR;
    }
    *pp = p;
    return REC_OK;
}

/* Parses the records of piece pc that start before pc->stop (at most
 * pc->limit rows when >= 0): fields are split and typed in one pass, kept
 * in cv until the record is known to have the right field count. */
static void parse_piece(mf_csv_reader *r, piece *pc)
{
    const char *b = r->buf;
    const size_t n = r->n;
    const int final = r->eof;
    const char sep = r->o.sep;
    const unsigned char *special = r->special;
    const int64_t nkept = r->nkept, ncols = r->ncols;
    const int64_t *kept_of = r->kept_of;
    cellv *cv = pc->cv;
    int64_t *pend = pc->pend; /* the kept columns whose cell of this record awaits its commit */
    size_t p = pc->start;
    int64_t line = 0;
    pc->nrows = 0;
    pc->nbad = 0;
    pc->status = P_OK;
    pc->err.kind = E_NONE;
    for (int64_t k = 0; k < nkept; k++) {
        memset(&pc->pc[k], 0, sizeof pc->pc[k]);
        pc->pc[k].is_float = r->cols[k].is_float;
    }
    while (p < pc->stop && p < n) {
        if (pc->limit >= 0 && pc->nrows >= pc->limit) break;
        if (pc->nrows == pc->cap && !piece_grow(pc, nkept, pc->nrows + 1)) {
            pc->err.kind = E_NOMEM;
            pc->status = P_ERR;
            break;
        }
        const size_t rec = p;
        const int64_t rline = line;
        int64_t rl = 0; /* line breaks inside the record so far */
        int64_t nf = 0, npend = 0;
        size_t len0 = 0;
        int quoted0 = 0, st = REC_OK;
        for (;;) {
            const int64_t k = nf < ncols ? kept_of[nf] : -1;
            size_t start, len;
            if (p < n && b[p] == '"') {
                int esc;
                st = quoted_field(r, &p, &start, &len, &esc, &rl, &pc->err, nf + 1);
                if (st != REC_OK) break;
                if (k >= 0) {
                    classify_cell(r, &r->cols[k], start, len, 1, esc, &cv[k]);
                    pend[npend++] = k;
                }
                if (nf == 0) quoted0 = 1;
            } else {
                start = p;
                const char *endp;
                int64_t iv;
                double dv;
                int fk;
                if (k >= 0 && r->cols[k].state == ST_NUM && r->na_plain &&
                    (fk = fast_num(b + p, b + n, special, &endp, &iv, &dv)) != 0) {
                    p = (size_t)(endp - b);
                    len = p - start;
                    cellv *c = &cv[k];
                    /* the usual cell goes straight into its slot: writing row i
                     * is harmless if the record turns out bad (not counted) */
                    uint64_t *slot = &pc->slots[k][pc->nrows];
                    if (fk == 2) {
                        if (pc->pc[k].is_float) memcpy(slot, &dv, 8);
                        else memcpy(slot, &iv, 8);
                    } else if (pc->pc[k].is_float) {
                        memcpy(slot, &dv, 8);
                    } else if (r->cols[k].forced == MF_CSV_INT64) {
                        c->cls = C_ERR_CELL;
                        c->off = start, c->len = len;
                        pend[npend++] = k;
                    } else {
                        c->cls = C_FLT;
                        memcpy(&c->v, &dv, 8);
                        pend[npend++] = k;
                    }
                } else {
                    while (p < n && !special[(unsigned char)b[p]]) p++;
                    len = p - start;
                    if (len > MAX_FIELD) {
                        pc->err.kind = E_TOOLONG;
                        pc->err.rel_line = rl;
                        st = REC_ERR;
                        break;
                    }
                    if (k >= 0) {
                        classify_cell(r, &r->cols[k], start, len, 0, 0, &cv[k]);
                        pend[npend++] = k;
                    }
                }
            }
            if (nf == 0) len0 = len;
            nf++;
            if (p < n && b[p] == sep) {
                p++;
                continue;
            }
            break;
        }
        if (st == REC_OK) {
            if (p >= n) {
                if (!final) st = REC_MORE;
            } else if (b[p] == '\r') {
                if (p + 1 >= n && !final) {
                    st = REC_MORE;
                } else {
                    p++;
                    if (p < n && b[p] == '\n') p++;
                    rl++;
                }
            } else {
                p++;
                rl++;
            }
        }
        if (st == REC_MORE) {
            p = rec;
            pc->status = P_MORE;
            break;
        }
        if (st == REC_ERR) {
            pc->err.rel_line += line;
            pc->status = P_ERR;
            p = rec;
            break;
        }
        const size_t end = p;
        if (nf == 1 && len0 == 0 && !quoted0) { /* a blank line */
            line += rl;
            continue;
        }
        if (nf != ncols) {
            if (r->o.on_bad_lines == MF_CSV_BAD_ERROR) {
                pc->err.kind = E_FIELDS;
                pc->err.rel_line = rline;
                pc->err.a = ncols;
                pc->err.b = nf;
                pc->status = P_ERR;
                p = rec;
                break;
            }
            if (!grow((void **)&pc->bad, &pc->capbad, 2 * pc->nbad + 2, sizeof(int64_t))) {
                pc->err.kind = E_NOMEM;
                pc->status = P_ERR;
                p = rec;
                break;
            }
            pc->bad[2 * pc->nbad] = pc->nrows;
            pc->bad[2 * pc->nbad + 1] = rline;
            pc->nbad++;
            line += rl;
            continue;
        }
        /* the record is whole: commit its cells */
        const int64_t i = pc->nrows;
        int failed = 0;
        for (int64_t t = 0; t < npend; t++) {
            const int64_t k = pend[t];
            const cellv *c = &cv[k];
            pcol *q = &pc->pc[k];
            uint64_t *slot = &pc->slots[k][i];
            double nan = NAN;
            switch (c->cls) {
            case C_INT:
                if (q->is_float) {
                    int64_t x;
                    memcpy(&x, &c->v, 8);
                    double d = (double)x;
                    memcpy(slot, &d, 8);
                } else {
                    *slot = c->v;
                }
                break;
            case C_FLT:
                if (!q->is_float) to_float(pc->slots[k], i), q->is_float = 1;
                *slot = c->v;
                break;
            case C_MISS:
                q->n_missing++;
                if (!q->is_float) to_float(pc->slots[k], i), q->is_float = 1;
                memcpy(slot, &nan, 8);
                break;
            case C_JUNK:
                if (!q->is_float) to_float(pc->slots[k], i), q->is_float = 1;
                if (q->n_junk < MF_CSV_MAX_LINES) q->junk_rows[q->n_junk] = i;
                q->n_junk++;
                memcpy(slot, &nan, 8);
                break;
            case C_REF:
            case C_BOOL: *slot = c->v; break;
            case C_NOMEM:
                pc->err.kind = E_NOMEM;
                failed = 1;
                break;
            default: /* C_ERR_MISS, C_ERR_CELL */
                cast_error(pc, rline, r->cols[k].j, b + c->off, c->len, c->cls == C_ERR_CELL);
                failed = 1;
                break;
            }
            if (failed) break;
        }
        if (failed) {
            pc->status = P_ERR;
            p = rec;
            break;
        }
        line += rl;
        pc->row_line[i] = rline;
        pc->row_end[i] = end;
        pc->row_end_line[i] = line;
        pc->nrows++;
    }
    pc->end = p;
    pc->lines = line;
}

typedef struct pieces_job {
    mf_csv_reader *r;
    int n;
} pieces_job;

static void pieces_range(int64_t lo, int64_t hi, void *ctx)
{
    pieces_job *pj = ctx;
    for (int64_t k = lo; k < hi; k++) parse_piece(pj->r, &pj->r->pieces[k]);
}

/* The error of a valid piece, as a status; line0 is the 1-based line of its start. */
static mf_status piece_error(mf_csv_reader *r, const piece *pc, int64_t line0)
{
    const perr *e = &pc->err;
    long long ln = (long long)(line0 + e->rel_line);
    switch (e->kind) {
    case E_UNTERM: return mf_error_set(MF_EINVAL, 0, "%s:%lld: unterminated quote", r->path, ln);
    case E_AFTERQ:
        return mf_error_set(MF_EINVAL, 0, "%s:%lld: unexpected character after closing quote in field %lld",
                            r->path, ln, (long long)e->a);
    case E_FIELDS:
        return mf_error_set(MF_EINVAL, 0, "%s:%lld: expected %lld fields, got %lld", r->path, ln,
                            (long long)e->a, (long long)e->b);
    case E_TOOLONG: return mf_error_set(MF_EINVAL, 0, "%s:%lld: field too long", r->path, ln);
    case E_CAST: {
        int64_t k = r->kept_of[e->col];
        const rcol *c = &r->cols[k];
        int t = c->state == ST_BOOL ? MF_CSV_BOOL : MF_CSV_INT64;
        const char *hint = c->fixed ? " (the type inferred from the first chunk; give the column a type "
                                      "with dtypes, e.g. float64 or string)"
                                    : "";
        if (e->what == 0)
            return mf_error_set(MF_EINVAL, 0, "%s:%lld: missing value in %s column '%s'%s", r->path, ln,
                                type_name(t), r->names[e->col], hint);
        return mf_error_set(MF_EINVAL, 0, "%s:%lld: cannot read '%s' in column '%s' as %s%s", r->path, ln,
                            e->cell, r->names[e->col], type_name(t), hint);
    }
    default: return nomem();
    }
}

/* ------------------------------------------------------------------ merging */
/* Large column buffers are filled once, front to back: transparent huge
 * pages save most of their page faults (a hint; ignored where unsupported). */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || n < ((size_t)4 << 20)) return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

static mf_status col_reserve(rcol *c, int64_t need, int64_t est)
{
    if (need <= c->cap) return MF_OK;
    int64_t ncap = c->cap ? c->cap + c->cap / 2 : 0;
    if (ncap < est) ncap = est;
    if (ncap < need) ncap = need;
    mf_tensor *t = NULL;
    mf_status st = mf_tensor_new(&t, MF_INT64, 1, (int64_t[]){ncap});
    if (st) return st;
    advise_huge(mf_tensor_data(t), (size_t)ncap * 8);
    if (c->vals) {
        memcpy(mf_tensor_data(t), mf_tensor_data(c->vals), (size_t)c->cap * 8);
        mf_tensor_release(c->vals);
    }
    c->vals = t;
    c->cap = ncap;
    return MF_OK;
}

typedef struct merge_job {
    mf_csv_reader *r;
    int64_t *take;    /* rows taken from each piece */
    int npieces;
    int64_t row0;     /* table rows before this block */
    int64_t need;
    _Atomic int64_t next;
    int64_t *order;   /* columns, heaviest first */
} merge_job;

static void merge_col(merge_job *mj, rcol *c, int64_t k)
{
    mf_csv_reader *r = mj->r;
    if (c->state == ST_SKIP || c->state == ST_REREAD) return;
    if (col_reserve(c, mj->need, r->est_rows)) {
        c->err_row = -2;
        return;
    }
    uint64_t *v = mf_tensor_data(c->vals);
    int64_t row = mj->row0;
    for (int p = 0; p < mj->npieces; p++) {
        piece *pc = &r->pieces[p];
        int64_t m = mj->take[p];
        if (m == 0) continue;
        const uint64_t *src = pc->slots[k];
        if (c->state == ST_NUM) {
            const pcol *q = &pc->pc[k];
            if (q->is_float && !c->is_float) {
                to_float(v, row);
                c->is_float = 1;
            }
            memcpy(v + row, src, (size_t)m * 8);
            if (c->is_float && !q->is_float) to_float(v + row, m);
            c->n_missing += q->n_missing;
            c->n_num += m - q->n_missing - q->n_junk; /* the other cells are numbers */
            for (int64_t t = 0; t < q->n_junk && t < MF_CSV_MAX_LINES; t++) {
                if (c->n_junk + t < MF_CSV_MAX_LINES) c->junk_rows[c->n_junk + t] = row + q->junk_rows[t];
            }
            c->n_junk += q->n_junk;
        } else if (c->state == ST_BOOL) {
            memcpy(v + row, src, (size_t)m * 8);
        } else { /* ST_STR */
            strtab *s = &c->st;
            int64_t *codes = (int64_t *)v;
            /* the hash of the cell DIST ahead is computed and its slot
             * prefetched: the table of a column of distinct texts is far
             * larger than the caches */
            enum { DIST = 8 };
            uint64_t ring[DIST];
            for (int64_t i = 0; i < DIST && i < m; i++) {
                uint64_t ref = src[i];
                ring[i] = ref == REF_MISSING || (ref & REF_ESC) ? 0 : hash_bytes(r->buf + ref_off(ref), ref_len(ref));
            }
            for (int64_t i = 0; i < m; i++) {
                uint64_t ref = src[i];
                uint64_t hh = ring[i % DIST];
                if (i + DIST < m) {
                    uint64_t ra = src[i + DIST];
                    uint64_t ha = ra == REF_MISSING || (ra & REF_ESC) ? 0 : hash_bytes(r->buf + ref_off(ra), ref_len(ra));
                    ring[(i + DIST) % DIST] = ha;
                    if (s->slots) prefetch(&s->slots[ha & s->mask]);
                }
                if (ref == REF_MISSING) {
                    codes[row + i] = MF_CSV_MISSING_CODE;
                    c->n_missing++;
                    continue;
                }
                const char *t = r->buf + ref_off(ref);
                size_t len = ref_len(ref);
                if (ref & REF_ESC) {
                    if (len + 1 > s->scratch_cap) {
                        char *ns = mf_malloc(len + 1);
                        if (!ns) {
                            c->err_row = -2;
                            return;
                        }
                        mf_free(s->scratch);
                        s->scratch = ns;
                        s->scratch_cap = len + 1;
                    }
                    size_t w = 0;
                    for (size_t q = 0; q < len; q++) {
                        s->scratch[w++] = t[q];
                        if (t[q] == '"') q++; /* "" -> " */
                    }
                    t = s->scratch;
                    len = w;
                    hh = hash_bytes(t, len);
                }
                int64_t code = strtab_intern_h(s, t, len, hh);
                if (code <= 0) {
                    c->err_row = code == 0 ? -2 : row + i;
                    return;
                }
                codes[row + i] = code;
            }
        }
        row += m;
    }
}

static void merge_range(int64_t lo, int64_t hi, void *ctx)
{
    merge_job *mj = ctx;
    (void)lo, (void)hi;
    for (;;) {
        int64_t t = atomic_fetch_add(&mj->next, 1);
        if (t >= mj->r->nkept) break;
        int64_t k = mj->order[t];
        merge_col(mj, &mj->r->cols[k], k);
    }
}

/* ------------------------------------------------------------------ reading rows */
static mf_status setup_pieces(mf_csv_reader *r)
{
    int np = mf_num_threads();
    if (np < 1) np = 1;
    if (np > 16) np = 16;
    r->pieces = mf_calloc((size_t)np, sizeof *r->pieces);
    if (!r->pieces) return nomem();
    r->npieces = np;
    for (int p = 0; p < np; p++) {
        piece *pc = &r->pieces[p];
        pc->slots = mf_calloc((size_t)(r->nkept ? r->nkept : 1), sizeof *pc->slots);
        pc->pc = mf_calloc((size_t)(r->nkept ? r->nkept : 1), sizeof *pc->pc);
        pc->f = mf_malloc((size_t)(r->ncols + 1) * sizeof *pc->f);
        pc->cv = mf_calloc((size_t)(r->nkept ? r->nkept : 1), sizeof *pc->cv);
        pc->pend = mf_malloc((size_t)(r->nkept ? r->nkept : 1) * sizeof *pc->pend);
        if (!pc->slots || !pc->pc || !pc->f || !pc->cv || !pc->pend) return nomem();
    }
    return MF_OK;
}

static mf_status lmap_add(mf_csv_reader *r, int64_t row, int64_t line)
{
    if (r->nlmap > 0) {
        int64_t lr = r->lmap[2 * (r->nlmap - 1)], ll = r->lmap[2 * (r->nlmap - 1) + 1];
        if (ll + (row - lr) == line) return MF_OK;
    }
    if (!grow((void **)&r->lmap, &r->caplmap, 2 * r->nlmap + 2, sizeof(int64_t))) return nomem();
    r->lmap[2 * r->nlmap] = row;
    r->lmap[2 * r->nlmap + 1] = line;
    r->nlmap++;
    return MF_OK;
}

/* Reads up to `limit` more rows (< 0: all) into the columns. */
static mf_status read_rows(mf_csv_reader *r, int64_t limit)
{
    mf_status st;
    int64_t take[16];
    int64_t base_line[16];
    if (!r->pieces && (st = setup_pieces(r))) return st;
    int grow_next = 0;
    while (limit < 0 || r->rows < limit) {
        if (grow_next || r->pos >= r->n || (!r->eof && r->n - r->pos < block_size)) {
            if ((st = fill(r, grow_next))) return st;
            grow_next = 0;
        }
        if (r->pos >= r->n) break;
        int64_t want = limit < 0 ? -1 : limit - r->rows;
        /* pieces: split at line breaks after equal shares */
        size_t avail = r->n - r->pos;
        int np = r->npieces;
        if (avail < ((size_t)1 << 16)) np = 1;
        size_t starts[17];
        int used = 0;
        starts[used++] = r->pos;
        for (int p = 1; p < np; p++) {
            size_t at = r->pos + avail / (size_t)np * (size_t)p;
            if (at <= starts[used - 1]) continue;
            const char *nl = memchr(r->buf + at, '\n', r->n - at);
            if (!nl || (size_t)(nl - r->buf) + 1 >= r->n) break;
            size_t s = (size_t)(nl - r->buf) + 1;
            if (s <= starts[used - 1]) continue;
            starts[used++] = s;
        }
        starts[used] = r->n;
        for (int p = 0; p < used; p++) {
            piece *pc = &r->pieces[p];
            pc->start = starts[p];
            pc->stop = p + 1 < used ? starts[p + 1] : r->n;
            pc->limit = p == 0 ? want : -1;
        }
        pieces_job pj = {r, used};
        mf_parallel_for(used, 1, pieces_range, &pj);
        /* check the pieces in order; re-parse one whose start was a wrong guess */
        size_t at = r->pos;
        int64_t line = r->line, got = 0;
        int nvalid = 0, stop = 0;
        for (int p = 0; p < used && !stop; p++) {
            piece *pc = &r->pieces[p];
            int64_t left = want < 0 ? -1 : want - got;
            if (pc->start != at || (left >= 0 && pc->nrows > left) ||
                (p + 1 == used && pc->stop != r->n)) {
                pc->start = at;
                pc->stop = r->n; /* takes the rest of the buffer */
                pc->limit = left;
                parse_piece(r, pc);
                stop = 1;
            }
            base_line[p] = line;
            take[p] = pc->nrows;
            nvalid = p + 1;
            if (pc->status == P_ERR) return piece_error(r, pc, line);
            got += pc->nrows;
            at = pc->end;
            line += pc->lines;
            if (pc->status == P_MORE || (want >= 0 && got >= want)) stop = 1;
        }
        if (got == 0 && nvalid > 0 && r->pieces[nvalid - 1].status == P_MORE && at == r->pos) {
            /* not one whole record in the buffer: read more (growing it) */
            grow_next = 1;
            continue;
        }
        /* bad lines and line numbers */
        int64_t row = r->rows;
        for (int p = 0; p < nvalid; p++) {
            piece *pc = &r->pieces[p];
            for (int64_t t = 0; t < pc->nbad; t++) {
                if (r->n_bad < MF_CSV_MAX_LINES) r->bad_lines[r->n_bad] = base_line[p] + pc->bad[2 * t + 1];
                r->n_bad++;
            }
            for (int64_t i = 0; i < take[p]; i++)
                if ((st = lmap_add(r, row + i, base_line[p] + pc->row_line[i]))) return st;
            row += take[p];
        }
        if (r->est_rows == 0 && got > 0) {
            /* reserve the columns for the whole file from the first block */
            double per = (double)(at - r->pos) / (double)got;
            double est = r->file_size > 0 ? (double)r->file_size / per * 1.02 + 1024 : (double)got * 2;
            if (limit >= 0 && est > (double)limit) est = (double)limit;
            r->est_rows = (int64_t)est;
            r->bytes_per_row = per;
        }
        merge_job mj = {.r = r, .take = take, .npieces = nvalid, .row0 = r->rows, .need = r->rows + got};
        int64_t order_small[64];
        mj.order = r->nkept <= 64 ? order_small : mf_malloc((size_t)r->nkept * sizeof(int64_t));
        if (!mj.order) return nomem();
        int64_t no = 0;
        for (int64_t k = 0; k < r->nkept; k++)
            if (r->cols[k].state == ST_STR) mj.order[no++] = k;
        for (int64_t k = 0; k < r->nkept; k++)
            if (r->cols[k].state != ST_STR) mj.order[no++] = k;
        atomic_init(&mj.next, 0);
        if (got > 0) mf_parallel_for(mf_num_threads(), 1, merge_range, &mj);
        if (mj.order != order_small) mf_free(mj.order);
        for (int64_t k = 0; k < r->nkept; k++) {
            rcol *c = &r->cols[k];
            if (c->err_row == -2) return nomem();
            if (c->err_row >= 0) {
                int64_t ln = line_of_row(r, c->err_row);
                return mf_error_set(MF_EINVAL, 0, "%s:%lld: invalid UTF-8 in column '%s'", r->path,
                                    (long long)ln, r->names[c->j]);
            }
        }
        r->rows += got;
        /* where the next block starts: after the last row taken, when cut */
        piece *last = &r->pieces[nvalid - 1];
        if (want >= 0 && got >= want && take[nvalid - 1] > 0) {
            r->pos = last->row_end[take[nvalid - 1] - 1];
            r->line = base_line[nvalid - 1] + last->row_end_line[take[nvalid - 1] - 1];
        } else {
            r->pos = at;
            r->line = line;
        }
        /* a numeric column mostly of non-numbers so far: read it as text later */
        for (int64_t k = 0; k < r->nkept; k++) {
            rcol *c = &r->cols[k];
            if (c->state != ST_NUM || c->forced >= 0 || c->fixed || !r->whole) continue;
            if (c->n_junk >= 100 && c->n_junk * 10 > c->n_junk + c->n_num) {
                c->state = ST_REREAD;
                mf_tensor_release(c->vals);
                c->vals = NULL;
                c->cap = 0;
            }
        }
        if (r->pos >= r->n && r->eof) break;
    }
    return MF_OK;
}

/* ------------------------------------------------------------------ opening */
void mf_csv_reader_close(mf_csv_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    mf_free(r->path);
    mf_free(r->na_len);
    mf_free(r->buf);
    if (r->names) {
        for (int64_t j = 0; j < r->ncols; j++) mf_free(r->names[j]);
        mf_free(r->names);
    }
    if (r->cols) {
        for (int64_t k = 0; k < r->nkept; k++) {
            mf_tensor_release(r->cols[k].vals);
            strtab_free(&r->cols[k].st);
        }
        mf_free(r->cols);
    }
    mf_free(r->kept_of);
    if (r->pieces) {
        for (int p = 0; p < r->npieces; p++) piece_free_bufs(&r->pieces[p], r->nkept);
        mf_free(r->pieces);
    }
    mf_free(r->lmap);
    mf_free(r);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = mf_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Skips the BOM and skip_rows lines, then reads the header (or looks at the
 * first record for the column count). */
static mf_status read_header(mf_csv_reader *r)
{
    mf_status st;
    if ((st = fill(r, 0))) return st;
    if (r->n >= 3 && (unsigned char)r->buf[0] == 0xEF && (unsigned char)r->buf[1] == 0xBB &&
        (unsigned char)r->buf[2] == 0xBF)
        r->pos = 3;
    for (int64_t k = 0; k < r->o.skip_rows;) {
        if (r->pos >= r->n) {
            if (r->eof) break;
            if ((st = fill(r, 0))) return st;
            continue;
        }
        char c = r->buf[r->pos];
        if (c == '\r' && r->pos + 1 >= r->n && !r->eof) {
            if ((st = fill(r, 0))) return st;
            continue;
        }
        r->pos++;
        if (c == '\n' || c == '\r') {
            if (c == '\r' && r->pos < r->n && r->buf[r->pos] == '\n') r->pos++;
            r->line++;
            k++;
        }
    }
    fld *f = NULL;
    int64_t capf = 0;
    for (;;) {
        if (r->pos >= r->n) {
            if (r->eof) break;
            if ((st = fill(r, 0))) break;
            continue;
        }
        size_t nf, end;
        int64_t lines;
        perr e = {0};
        int rs = split_record(r, r->pos, f, (size_t)capf, &nf, &end, &lines, &e);
        if (rs == REC_MORE) {
            if ((st = fill(r, 1))) break;
            continue;
        }
        if (rs == REC_ERR) {
            piece tmp;
            memset(&tmp, 0, sizeof tmp);
            tmp.err = e;
            st = piece_error(r, &tmp, r->line);
            break;
        }
        if ((int64_t)nf > capf) { /* again with room for every field */
            if (!grow((void **)&f, &capf, (int64_t)nf, sizeof *f)) {
                st = nomem();
                break;
            }
            continue;
        }
        if (is_blank(nf, f)) {
            r->pos = end;
            r->line += lines;
            continue;
        }
        r->ncols = (int64_t)nf;
        if (!(r->names = mf_calloc(nf, sizeof *r->names))) {
            r->ncols = 0;
            st = nomem();
            break;
        }
        for (int64_t j = 0; j < r->ncols && !st; j++) {
            char tmp[32];
            const char *s = NULL;
            size_t n = 0;
            if (r->o.header) {
                s = r->buf + f[j].off;
                n = f[j].len;
                if (!mf_csv__utf8_valid((const unsigned char *)s, n)) {
                    st = mf_error_set(MF_EINVAL, 0, "%s:%lld: invalid UTF-8 in the name of column %lld",
                                      r->path, (long long)r->line, (long long)(j + 1));
                    break;
                }
            }
            if (!r->o.header || n == 0) {
                snprintf(tmp, sizeof tmp, "column_%lld", (long long)(j + 1));
                s = tmp;
                n = strlen(tmp);
            }
            if (r->o.header && f[j].esc) {
                char *d = dup_n(s, n);
                if (!d) {
                    st = nomem();
                    break;
                }
                size_t w = 0;
                for (size_t q = 0; q < n; q++) {
                    d[w++] = s[q];
                    if (s[q] == '"') q++;
                }
                d[w] = '\0';
                r->names[j] = d;
            } else if (!(r->names[j] = dup_n(s, n))) {
                st = nomem();
                break;
            }
            for (int64_t k = 0; k < j; k++)
                if (strcmp(r->names[k], r->names[j]) == 0) {
                    st = mf_error_set(MF_EINVAL, 0, "%s:%lld: duplicate column name '%s' (columns %lld and %lld)",
                                      r->path, (long long)r->line, r->names[j], (long long)(k + 1),
                                      (long long)(j + 1));
                    break;
                }
        }
        if (!st && r->o.header) {
            r->pos = end;
            r->line += lines;
        }
        break;
    }
    mf_free(f);
    if (st) return st;
    if (r->ncols == 0) return mf_error_set(MF_EINVAL, 0, "%s: empty file", r->path);
    return MF_OK;
}

mf_status mf_csv_reader_open(const char *path, const mf_csv_options *o, mf_csv_reader **out)
{
    mf_csv_options def;
    if (!out) return mf_error_set(MF_EINVAL, 3, "csv read: out is NULL");
    *out = NULL;
    if (!path) return mf_error_set(MF_EINVAL, 1, "csv read: path is NULL");
    if (!o) {
        mf_csv_options_default(&def);
        o = &def;
    }
    if (o->sep == '"' || o->sep == '\n' || o->sep == '\r' || o->sep == '\0')
        return mf_error_set(MF_EINVAL, 2, "csv read: invalid separator");
    if (o->skip_rows < 0) return mf_error_set(MF_EINVAL, 2, "csv read: skip_rows must be >= 0");
    if ((unsigned)o->on_bad_lines > MF_CSV_BAD_WARN)
        return mf_error_set(MF_EINVAL, 2, "csv read: invalid on_bad_lines");
    mf_csv_reader *r = mf_calloc(1, sizeof *r);
    if (!r) return nomem();
    r->o = *o;
    r->line = 1;
    r->na = o->na_values ? o->na_values : default_na;
    mf_status st = MF_OK;
    size_t nna = 0;
    while (r->na[nna]) nna++;
    if (!(r->path = dup_n(path, strlen(path))) || !(r->na_len = mf_malloc((nna + 1) * sizeof(size_t))))
        st = nomem();
    for (size_t k = 0; !st && k < nna; k++) {
        r->na_len[k] = strlen(r->na[k]);
        if (r->na_len[k] > r->na_maxlen) r->na_maxlen = r->na_len[k];
        if (r->na_len[k] == 0) r->na_empty = 1;
        else r->na_first[(unsigned char)r->na[k][0]] = 1;
    }
    r->na_plain = 1;
    for (size_t k = 0; !st && k < nna; k++) {
        int64_t iv;
        double dv;
        if (mf_csv__parse_num(r->na[k], r->na_len[k], &iv, &dv) != 0) r->na_plain = 0;
    }
    r->special[(unsigned char)o->sep] = 1;
    r->special['\n'] = 1;
    r->special['\r'] = 1;
    if (!st) {
        r->f = fopen(path, "rb");
        if (!r->f) st = mf_error_set(MF_EIO, 0, "%s: %s", path, strerror(errno));
    }
    if (!st) {
        if (fseek(r->f, 0, SEEK_END) == 0) {
            long sz = ftell(r->f);
            r->file_size = sz > 0 ? sz : 0;
            rewind(r->f);
        }
        st = read_header(r);
    }
    if (st) {
        mf_csv_reader_close(r);
        return st;
    }
    *out = r;
    return MF_OK;
}

int64_t mf_csv_reader_ncols(const mf_csv_reader *r) { return r->ncols; }

const char *mf_csv_reader_name(const mf_csv_reader *r, int64_t j)
{
    return j >= 0 && j < r->ncols ? r->names[j] : NULL;
}

mf_status mf_csv_reader_configure(mf_csv_reader *r, const int *keep, const int *types)
{
    if (r->started || r->configured) return mf_error_set(MF_ESTATE, 1, "csv reader: already configured");
    int64_t nk = 0;
    for (int64_t j = 0; j < r->ncols; j++) {
        if (keep && !keep[j]) continue;
        if (types && (types[j] < -1 || types[j] > MF_CSV_STRING))
            return mf_error_set(MF_EINVAL, 3, "csv reader: invalid type for column %lld", (long long)(j + 1));
        nk++;
    }
    r->kept_of = mf_malloc((size_t)r->ncols * sizeof *r->kept_of);
    r->cols = mf_calloc((size_t)(nk ? nk : 1), sizeof *r->cols);
    if (!r->kept_of || !r->cols) return nomem();
    r->nkept = nk;
    int64_t k = 0;
    for (int64_t j = 0; j < r->ncols; j++) {
        r->kept_of[j] = -1;
        if (keep && !keep[j]) continue;
        rcol *c = &r->cols[k];
        c->j = j;
        c->forced = types ? types[j] : -1;
        c->err_row = -1;
        c->state = ST_NUM;
        if (c->forced == MF_CSV_STRING) c->state = ST_STR;
        else if (c->forced == MF_CSV_BOOL) c->state = ST_BOOL;
        else if (c->forced == MF_CSV_FLOAT64) c->is_float = 1;
        r->kept_of[j] = k++;
    }
    r->configured = 1;
    return MF_OK;
}

/* Sets the initial state of the inferred columns from the first records:
 * numeric when at least 90% of their non-missing cells are numbers. */
static void prescan(mf_csv_reader *r, int all_string)
{
    int64_t *num = mf_calloc((size_t)r->nkept + 1, sizeof *num), *other = mf_calloc((size_t)r->nkept + 1, sizeof *other);
    fld *f = mf_malloc((size_t)(r->ncols + 1) * sizeof *f);
    size_t p = r->pos;
    for (int rec = 0; num && other && f && rec < 1000 && p < r->n && !all_string; rec++) {
        size_t nf, end;
        int64_t lines;
        perr e;
        if (split_record(r, p, f, (size_t)r->ncols, &nf, &end, &lines, &e) != REC_OK) break;
        p = end;
        if ((int64_t)nf != r->ncols) continue;
        for (int64_t k = 0; k < r->nkept; k++) {
            const fld *fd = &f[r->cols[k].j];
            const char *s = r->buf + fd->off;
            int64_t iv;
            double dv;
            if (!fd->quoted && is_na(r, s, fd->len)) continue;
            if (!fd->esc && mf_csv__parse_num(s, fd->len, &iv, &dv) > 0) num[k]++;
            else other[k]++;
        }
    }
    for (int64_t k = 0; k < r->nkept; k++) {
        rcol *c = &r->cols[k];
        if (c->forced >= 0) continue;
        int is_num = num && other && (other[k] == 0 || num[k] * 10 >= (num[k] + other[k]) * 9);
        c->state = is_num && !all_string ? ST_NUM : ST_STR;
    }
    mf_free(num);
    mf_free(other);
    mf_free(f);
}

/* ------------------------------------------------------------------ results */
void mf_csv_table_free(mf_csv_table *t)
{
    if (!t) return;
    if (t->cols) {
        for (int64_t j = 0; j < t->ncols; j++) {
            mf_csv_column *c = &t->cols[j];
            mf_free(c->name);
            mf_tensor_release(c->data);
            mf_free(c->levels);
            pool_free(c->pool);
        }
        mf_free(t->cols);
    }
    mf_free(t);
}

void mf_csv_levels_free(char **levels, void *pool)
{
    mf_free(levels);
    pool_free(pool);
}

/* A tensor of n elements of dtype dt over the slots of column c (no copy
 * unless much capacity is unused). */
static mf_status finish_vals(rcol *c, int64_t n, mf_dtype dt, mf_tensor **out)
{
    mf_status st;
    if (!c->vals) return mf_tensor_new(out, dt, 1, (int64_t[]){n});
    if (c->cap > n + n / 8 + 4096) {
        if ((st = mf_tensor_new(out, dt, 1, (int64_t[]){n}))) return st;
        if (n) memcpy(mf_tensor_data(*out), mf_tensor_data(c->vals), (size_t)n * 8);
    } else {
        /* the slots are ours alone: retyping them (8 bytes either way) is safe */
        c->vals->dtype = dt;
        mf_layout l = {.ndim = 1, .dtype = dt, .shape = {n}, .stride = {1}, .offset = 0};
        if ((st = mf_tensor_view(out, c->vals, &l))) return st;
    }
    mf_tensor_release(c->vals);
    c->vals = NULL;
    c->cap = 0;
    return MF_OK;
}

static void set_coerced(const mf_csv_reader *r, mf_csv_column *out, int64_t n, const int64_t *rows)
{
    out->n_coerced = n;
    for (int64_t t = 0; t < n && t < MF_CSV_MAX_LINES; t++) out->coerced_lines[t] = line_of_row(r, rows[t]);
}

/*
 * Types a string column (codes in c->vals, levels in c->st) from its levels
 * with the rules of mf_csv.h and converts it, into `out`.
 */
static mf_status classify_levels(const mf_csv_reader *r, rcol *c, int64_t nrows, mf_csv_column *out)
{
    strtab *s = &c->st;
    int64_t nl = s->n;
    mf_status st;
    int64_t *codes = c->vals ? mf_tensor_data(c->vals) : NULL;
    /* per level: 2 int, 1 float, 0 other; 4 added for a bool */
    unsigned char *kind = mf_malloc((size_t)nl + 1);
    double *dv = mf_malloc(((size_t)nl + 1) * sizeof *dv);
    int64_t *iv = mf_malloc(((size_t)nl + 1) * sizeof *iv);
    int64_t *cnt = mf_calloc((size_t)nl + 1, sizeof *cnt);
    if (!kind || !dv || !iv || !cnt) {
        st = nomem();
        goto done;
    }
    for (int64_t k = 0; k < nl; k++) {
        int b = 0;
        int kk = mf_csv__parse_num(s->lv[k], s->lens[k], &iv[k + 1], &dv[k + 1]);
        if (kk < 0) {
            st = nomem();
            goto done;
        }
        if (kk == 0) dv[k + 1] = NAN;
        kind[k + 1] = (unsigned char)(kk | (mf_csv__parse_bool(s->lv[k], s->lens[k], &b) ? 4 : 0));
        iv[k + 1] = kk == 2 ? iv[k + 1] : (kk == 0 && (kind[k + 1] & 4) ? b : 0);
    }
    for (int64_t i = 0; i < nrows; i++) cnt[codes[i]]++;
    int64_t n_missing = cnt[0], present = nrows - n_missing, n_int = 0, n_num = 0, n_bool = 0;
    for (int64_t k = 1; k <= nl; k++) {
        if ((kind[k] & 3) == 2) n_int += cnt[k];
        if (kind[k] & 3) n_num += cnt[k];
        if (kind[k] & 4) n_bool += cnt[k];
    }
    out->n_missing = n_missing;
    if (present > 0 && n_int == present && n_missing == 0) {
        out->type = MF_CSV_INT64;
        for (int64_t i = 0; i < nrows; i++) codes[i] = iv[codes[i]];
        st = finish_vals(c, nrows, MF_INT64, &out->data);
    } else if (present == 0 || n_num == present || (n_num > 0 && n_num * 10 >= present * 9)) {
        out->type = MF_CSV_FLOAT64;
        int64_t rows[MF_CSV_MAX_LINES], nj = 0;
        dv[0] = NAN;
        for (int64_t i = 0; i < nrows; i++) {
            int64_t code = codes[i];
            if (code && !(kind[code] & 3)) {
                if (nj < MF_CSV_MAX_LINES) rows[nj] = i;
                nj++;
            }
            double d = dv[code];
            memcpy(&codes[i], &d, 8);
        }
        set_coerced(r, out, nj, rows);
        out->n_missing += nj;
        st = nrows ? finish_vals(c, nrows, MF_FLOAT64, &out->data)
                   : mf_tensor_new(&out->data, MF_FLOAT64, 1, (int64_t[]){0});
    } else if (n_bool == present && n_missing == 0) {
        out->type = MF_CSV_BOOL;
        if (!(st = mf_tensor_new(&out->data, MF_BOOL, 1, (int64_t[]){nrows}))) {
            unsigned char *b = mf_tensor_data(out->data);
            for (int64_t i = 0; i < nrows; i++) b[i] = (unsigned char)iv[codes[i]];
        }
    } else {
        out->type = MF_CSV_STRING;
        st = MF_OK;
    }
done:
    mf_free(kind);
    mf_free(dv);
    mf_free(iv);
    mf_free(cnt);
    return st;
}

/* Moves the levels added since the last chunk into `out` (the whole table
 * of levels when the reader is done with them). */
static mf_status take_levels(rcol *c, mf_csv_column *out, int keep_table)
{
    strtab *s = &c->st;
    int64_t nnew = s->n - c->level_base;
    out->level_base = c->level_base;
    out->nlevels = nnew;
    if (!keep_table) {
        out->levels = s->lv;
        out->pool = s->pool;
        s->lv = NULL;
        s->pool = NULL;
        strtab_free(s);
        return MF_OK;
    }
    out->levels = mf_malloc((size_t)(nnew ? nnew : 1) * sizeof(char *));
    if (!out->levels) return nomem();
    pool_chunk *pool = NULL;
    for (int64_t k = 0; k < nnew; k++) {
        int64_t q = c->level_base + k;
        if (!(out->levels[k] = pool_dup(&pool, s->lv[q], s->lens[q]))) {
            out->pool = pool;
            return nomem();
        }
    }
    out->pool = pool;
    c->level_base = s->n;
    return MF_OK;
}

static mf_status new_table(const mf_csv_reader *r, mf_csv_table **out)
{
    mf_csv_table *t = mf_calloc(1, sizeof *t);
    if (!t) return nomem();
    t->cols = mf_calloc((size_t)(r->nkept ? r->nkept : 1), sizeof *t->cols);
    if (!t->cols) {
        mf_free(t);
        return nomem();
    }
    t->ncols = r->nkept;
    t->nrows = r->rows;
    t->n_bad_lines = r->n_bad;
    memcpy(t->bad_lines, r->bad_lines, sizeof t->bad_lines);
    for (int64_t k = 0; k < r->nkept; k++) {
        t->cols[k].index = r->cols[k].j;
        if (!(t->cols[k].name = dup_n(r->names[r->cols[k].j], strlen(r->names[r->cols[k].j])))) {
            mf_csv_table_free(t);
            return nomem();
        }
    }
    *out = t;
    return MF_OK;
}

/* Column k of the reader into the table column `out`, typed. */
static mf_status finish_col(mf_csv_reader *r, int64_t k, mf_csv_column *out, int chunked)
{
    rcol *c = &r->cols[k];
    int64_t n = r->rows;
    mf_status st;
    switch (c->state) {
    case ST_NUM: {
        out->n_missing = c->n_missing + c->n_junk;
        set_coerced(r, out, c->n_junk, c->junk_rows);
        if (c->forced == MF_CSV_INT64 || (!c->is_float && n > 0 && c->forced < 0 && !c->fixed)) {
            out->type = MF_CSV_INT64;
            return finish_vals(c, n, MF_INT64, &out->data);
        }
        if (!c->is_float) to_float(c->vals ? mf_tensor_data(c->vals) : NULL, c->vals ? n : 0);
        out->type = MF_CSV_FLOAT64;
        st = finish_vals(c, n, MF_FLOAT64, &out->data);
        if (chunked) c->is_float = 1, c->n_missing = c->n_junk = c->n_num = 0;
        return st;
    }
    case ST_BOOL: {
        out->type = MF_CSV_BOOL;
        if ((st = mf_tensor_new(&out->data, MF_BOOL, 1, (int64_t[]){n}))) return st;
        unsigned char *b = mf_tensor_data(out->data);
        const uint64_t *v = c->vals ? mf_tensor_data(c->vals) : NULL;
        for (int64_t i = 0; i < n; i++) b[i] = (unsigned char)v[i];
        if (chunked) return MF_OK;
        mf_tensor_release(c->vals);
        c->vals = NULL;
        c->cap = 0;
        return MF_OK;
    }
    default: { /* ST_STR */
        out->n_missing = c->n_missing;
        /* forced or fixed by the first chunk: strings; else typed from the levels */
        if (c->forced == MF_CSV_STRING || (chunked && r->first_chunk_done))
            out->type = MF_CSV_STRING;
        else if ((st = classify_levels(r, c, n, out)))
            return st;
        if (out->type == MF_CSV_STRING) {
            if (chunked) {
                if ((st = mf_tensor_new(&out->data, MF_INT64, 1, (int64_t[]){n}))) return st;
                if (n) memcpy(mf_tensor_data(out->data), mf_tensor_data(c->vals), (size_t)n * 8);
                c->n_missing = 0;
            } else if ((st = finish_vals(c, n, MF_INT64, &out->data))) {
                return st;
            }
            return take_levels(c, out, chunked);
        }
        if (chunked) {
            /* the first chunk fixed a numeric or bool type for the next ones */
            c->fixed = 1;
            strtab_free(&c->st);
            mf_tensor_release(c->vals);
            c->vals = NULL;
            c->cap = 0;
            c->n_missing = 0;
            if (out->type == MF_CSV_BOOL) {
                c->state = ST_BOOL;
            } else {
                c->state = ST_NUM;
                c->forced = out->type == MF_CSV_INT64 ? MF_CSV_INT64 : -1;
                c->is_float = out->type == MF_CSV_FLOAT64;
            }
        }
        return MF_OK;
    }
    }
}

static void reset_counts(mf_csv_reader *r)
{
    r->rows = 0;
    r->nlmap = 0;
    r->n_bad = 0;
    for (int64_t k = 0; k < r->nkept; k++) {
        rcol *c = &r->cols[k];
        c->n_missing = c->n_junk = c->n_num = 0;
        if (c->state == ST_NUM && c->forced != MF_CSV_FLOAT64 && !c->fixed) c->is_float = 0;
    }
}

mf_status mf_csv_reader_next(mf_csv_reader *r, int64_t max_rows, mf_csv_table **out)
{
    mf_status st;
    if (!out) return mf_error_set(MF_EINVAL, 3, "csv reader: out is NULL");
    *out = NULL;
    if (max_rows <= 0) return mf_error_set(MF_EINVAL, 2, "csv reader: rows must be > 0");
    if (r->whole) return mf_error_set(MF_ESTATE, 1, "csv reader: already read whole");
    if (!r->configured && (st = mf_csv_reader_configure(r, NULL, NULL))) return st;
    if (!r->started) {
        prescan(r, 1);
        r->started = 1;
    }
    reset_counts(r);
    if (r->est_rows == 0 || r->est_rows > max_rows) r->est_rows = max_rows;
    if ((st = read_rows(r, max_rows))) return st;
    if (r->rows == 0 && r->first_chunk_done && r->n_bad == 0) return MF_OK;
    mf_csv_table *t = NULL;
    if ((st = new_table(r, &t))) return st;
    for (int64_t k = 0; !st && k < r->nkept; k++) st = finish_col(r, k, &t->cols[k], 1);
    if (st) {
        mf_csv_table_free(t);
        return st;
    }
    r->first_chunk_done = 1;
    *out = t;
    return MF_OK;
}

mf_status mf_csv_reader_read_all(mf_csv_reader *r, mf_csv_table **out)
{
    mf_status st;
    if (!out) return mf_error_set(MF_EINVAL, 2, "csv reader: out is NULL");
    *out = NULL;
    if (r->started) return mf_error_set(MF_ESTATE, 1, "csv reader: already read");
    if (!r->configured && (st = mf_csv_reader_configure(r, NULL, NULL))) return st;
    r->started = 1;
    r->whole = 1;
    prescan(r, 0);
    int64_t limit = r->o.max_rows;
    if (limit != 0 && (st = read_rows(r, limit))) return st;
    /* numeric columns that turned out to need their text: a second pass */
    int *keep = NULL, *types = NULL;
    int nre = 0;
    for (int64_t k = 0; k < r->nkept; k++) {
        rcol *c = &r->cols[k];
        if (c->state == ST_NUM && c->forced < 0 && c->n_junk > 0 &&
            !(c->n_num > 0 && c->n_num * 10 >= (c->n_num + c->n_junk) * 9)) {
            c->state = ST_REREAD;
            mf_tensor_release(c->vals);
            c->vals = NULL;
            c->cap = 0;
        }
        if (c->state == ST_REREAD) nre++;
    }
    if (nre) {
        mf_csv_reader *r2 = NULL;
        keep = mf_calloc((size_t)r->ncols, sizeof *keep);
        types = mf_malloc((size_t)r->ncols * sizeof *types);
        if (!keep || !types) st = nomem();
        for (int64_t j = 0; !st && j < r->ncols; j++) {
            int64_t k = r->kept_of[j];
            keep[j] = k >= 0 && r->cols[k].state == ST_REREAD;
            types[j] = MF_CSV_STRING;
        }
        if (!st) st = mf_csv_reader_open(r->path, &r->o, &r2);
        if (!st) st = mf_csv_reader_configure(r2, keep, types);
        if (!st) {
            r2->whole = r2->started = 1;
            st = limit != 0 ? read_rows(r2, limit) : MF_OK;
        }
        if (!st && r2->rows != r->rows)
            st = mf_error_set(MF_EIO, 0, "%s: the file changed while it was read", r->path);
        for (int64_t k2 = 0; !st && k2 < r2->nkept; k2++) {
            rcol *c2 = &r2->cols[k2], *c = &r->cols[r->kept_of[c2->j]];
            c->state = ST_STR;
            c->vals = c2->vals;
            c->cap = c2->cap;
            c->st = c2->st;
            c->n_missing = c2->n_missing;
            c2->vals = NULL;
            c2->cap = 0;
            memset(&c2->st, 0, sizeof c2->st);
        }
        mf_csv_reader_close(r2);
        mf_free(keep);
        mf_free(types);
        if (st) return st;
    }
    mf_csv_table *t = NULL;
    if ((st = new_table(r, &t))) return st;
    for (int64_t k = 0; !st && k < r->nkept; k++) st = finish_col(r, k, &t->cols[k], 0);
    if (st) {
        mf_csv_table_free(t);
        return st;
    }
    *out = t;
    return MF_OK;
}

mf_status mf_csv_read(const char *path, const mf_csv_options *o, mf_csv_table **out)
{
    if (!out) return mf_error_set(MF_EINVAL, 3, "csv read: out is NULL");
    *out = NULL;
    mf_csv_reader *r = NULL;
    mf_status st = mf_csv_reader_open(path, o, &r);
    if (!st) st = mf_csv_reader_read_all(r, out);
    mf_csv_reader_close(r);
    return st;
}
