/*
 * mf_file.h — the moonforge tensor file (".mf"): tensors, numbers, strings,
 * booleans and nested tables of them, saved and loaded as data only.
 *
 * The byte layout is specified in docs/format.md (a C program can read a file
 * from that page alone). In short: a 64-byte header (magic, version, flags,
 * section sizes), a structure section of typed records, a data section with
 * each tensor's little-endian elements at a 64-byte aligned offset, and an
 * 8-byte trailer holding the CRC-32 of everything before it.
 *
 * Writing: a writer receives a stream of records, checks that they form one
 * well-nested value, and saves atomically (temporary file, fsync, rename):
 *
 *     mf_file_writer *w;
 *     mf_file_writer_new(&w);
 *     mf_file_put_table(w, 0, 2);            // no array part, 2 pairs
 *     mf_file_put_string(w, "weight", 6);    //   key
 *     mf_file_put_tensor(w, weight);         //   value
 *     mf_file_put_string(w, "step", 4);
 *     mf_file_put_int(w, 100);
 *     mf_file_put_end(w);
 *     mf_file_writer_save(w, "model.mf");
 *     mf_file_writer_free(w);
 *
 * Reading: mf_file_load parses and validates a whole file into a tree of
 * nodes (tensors as mf_tensor, contiguous), freed with mf_file_node_free.
 * Every length, count and offset is checked against the file size, so a
 * damaged or hostile file gives an error, never a read out of bounds.
 *
 * Error messages name the file as given ("model.mf: checksum mismatch (file
 * corrupted)"); the Lua binding prefixes "load: " or "save: ".
 */
#ifndef MF_FILE_H
#define MF_FILE_H

#include "mf_tensor.h"

/* The format version this library writes; it reads every 1.x file. */
#define MF_FILE_VERSION_MAJOR 1
#define MF_FILE_VERSION_MINOR 0
/* Tables nest at most this deep (the root table is depth 1). */
#define MF_FILE_MAX_DEPTH 64

/* ------------------------------------------------------------------ nodes */
typedef enum mf_file_kind {
    MF_FILE_BOOL = 0,
    MF_FILE_INT,
    MF_FILE_FLOAT,
    MF_FILE_STRING,
    MF_FILE_TENSOR,
    MF_FILE_TABLE
} mf_file_kind;

typedef struct mf_file_node mf_file_node;

/*
 * One value of a loaded file. A table has an array part (values of keys
 * 1..narr, in order, as Lua numbers them) and a hash part (nhash key/value
 * pairs; keys are bool, int, float or string nodes, never NaN).
 */
struct mf_file_node {
    mf_file_kind kind;
    union {
        int b;              /* MF_FILE_BOOL: 0 or 1 */
        int64_t i;          /* MF_FILE_INT */
        double f;           /* MF_FILE_FLOAT */
        struct {
            char *ptr;      /* len bytes (any bytes), then a '\0' */
            size_t len;
        } s;                /* MF_FILE_STRING */
        mf_tensor *tensor;  /* MF_FILE_TENSOR: owned by the node (retain to keep) */
        struct {
            int64_t narr, nhash;
            mf_file_node *arr;  /* narr values */
            mf_file_node *keys; /* nhash keys ... */
            mf_file_node *vals; /* ... and their values */
        } t;                /* MF_FILE_TABLE */
    } u;
};

/* "bool", "int", "float", "string", "tensor", "table". */
const char *mf_file_kind_name(mf_file_kind k);

/* Reads and validates the file at `path` into a new tree (*out). Errors name
 * the path: missing or unreadable file (strerror), "not a moonforge file",
 * "format version N is newer than this moonforge (reads 1)", "truncated
 * file: ...", "checksum mismatch (file corrupted)", malformed records. */
mf_status mf_file_load(mf_file_node **out, const char *path);
/* The same from a file image in memory; `name` is used in messages. */
mf_status mf_file_parse(mf_file_node **out, const void *buf, size_t len, const char *name);
/* Frees a tree (and releases its tensors); NULL is ignored. */
void mf_file_node_free(mf_file_node *n);
/* The value of string key `key` in table node t, or NULL (also when t is not
 * a table). */
const mf_file_node *mf_file_node_field(const mf_file_node *t, const char *key);

/* ------------------------------------------------------------------ writer */
typedef struct mf_file_writer mf_file_writer;

mf_status mf_file_writer_new(mf_file_writer **out);
void mf_file_writer_free(mf_file_writer *w); /* NULL is ignored */

/*
 * Records, in order: one root value. A table is mf_file_put_table(narr,
 * nhash), then narr values (keys 1..narr), then nhash key/value pairs (a key
 * is a bool, int, float (not NaN) or string record), then mf_file_put_end.
 * Out-of-place records (a table as a key, an end before the counts are met,
 * a second root, ...) are MF_EINVAL and leave the writer unusable.
 * A tensor is retained by the writer and its elements are read when the file
 * is written (in logical row-major order, whatever its strides): do not
 * change it in between. Tensors that share storage are written as copies.
 */
mf_status mf_file_put_bool(mf_file_writer *w, int v);
mf_status mf_file_put_int(mf_file_writer *w, int64_t v);
mf_status mf_file_put_float(mf_file_writer *w, double v);
mf_status mf_file_put_string(mf_file_writer *w, const char *s, size_t len);
mf_status mf_file_put_tensor(mf_file_writer *w, mf_tensor *t);
mf_status mf_file_put_table(mf_file_writer *w, int64_t narr, int64_t nhash);
mf_status mf_file_put_end(mf_file_writer *w);

/*
 * Writes the file atomically: into `path.tmp.XXXXXX` in the same directory,
 * fsync, rename over `path`, fsync of the directory. On failure the
 * temporary file is removed and an existing `path` is left untouched; the
 * message names the path and the system error. The writer can be saved
 * again (or freed).
 */
mf_status mf_file_writer_save(mf_file_writer *w, const char *path);
/* The file image in a new buffer (*buf, *len; free with mf_free). */
mf_status mf_file_writer_to_buffer(mf_file_writer *w, void **buf, size_t *len);

/* The records of a tree (e.g. one from mf_file_load): a whole value. */
mf_status mf_file_put_node(mf_file_writer *w, const mf_file_node *n);

/* ------------------------------------------------------------------ atomic files */
/*
 * The atomic output under mf_file_writer_save, for other writers (the CSV
 * writer): open creates `path.tmp.XXXXXX` next to `path` (mode 0666 minus
 * the umask); write appends bytes; commit fsyncs, closes, renames over
 * `path` and fsyncs the directory; abort (after an error of the caller)
 * closes and removes the temporary file. Commit and abort release
 * everything, whatever happens; on any failure an existing `path` is left
 * untouched. Errors name the path and the system error.
 */
typedef struct mf_file_atomic {
    int fd;
    char *tmp;        /* the temporary file's name */
    const char *path; /* the caller's string, kept until commit or abort */
} mf_file_atomic;

mf_status mf_file_atomic_open(mf_file_atomic *a, const char *path);
mf_status mf_file_atomic_write(mf_file_atomic *a, const void *data, size_t n);
mf_status mf_file_atomic_commit(mf_file_atomic *a);
void mf_file_atomic_abort(mf_file_atomic *a);

/* ------------------------------------------------------------------ checksum */
/* CRC-32 (IEEE 802.3, as zlib's crc32 and Python's zlib.crc32): pass 0 to
 * start, then the previous result to continue over more bytes. */
uint32_t mf_file_crc32(uint32_t crc, const void *data, size_t n);

#endif
