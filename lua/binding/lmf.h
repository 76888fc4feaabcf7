/*
 * lmf.h — shared helpers of the Lua binding (moonforge.core).
 *
 * The binding is thin: it checks Lua arguments, converts 1-based positions to
 * core's 0-based ones, calls core/ and turns a failed mf_status into a Lua
 * error. It never holds malloc'd memory across a call that can raise: results
 * go into a userdata created before core is called (see lmf_newtensor).
 */
#ifndef LMF_H
#define LMF_H

#include <lauxlib.h>
#include <lua.h>

#include "moonforge.h"

#define LMF_TENSOR_MT "moonforge.Tensor"

/* ------------------------------------------------------------------ errors */
/* Raises the core error (as "bad argument #k to 'f' (...)" when core names an
 * argument) if st != MF_OK. */
void lmf_check(lua_State *L, mf_status st);
/* Like lmf_check, but core's argument k is reported as Lua argument map[k-1]. */
void lmf_check_map(lua_State *L, mf_status st, const int *map, int nmap);

/* ------------------------------------------------------------------ tensors */
/* Pushes an empty tensor userdata and returns its slot, for core to fill.
 * Call lmf_account(L) after filling it. */
mf_tensor **lmf_newtensor(lua_State *L);
/* Registers the table on top (popped) as the tensor metatable for lmf_newtensor. */
void lmf_set_tensor_mt(lua_State *L);
/* Tells Lua's collector about memory core allocated since the last call. */
void lmf_account(lua_State *L);
mf_tensor *lmf_checktensor(lua_State *L, int arg);
mf_tensor *lmf_totensor(lua_State *L, int arg); /* NULL if not a live tensor */

/* Pushes the result of a core call that fills a new tensor: the call sees
 * `out`, the slot of a fresh tensor userdata left on the stack. */
#define NEW_TENSOR(L, call_with_out)                                            \
    do {                                                                        \
        mf_tensor **out = lmf_newtensor(L);                                     \
        lmf_check(L, call_with_out);                                            \
        lmf_account(L);                                                         \
    } while (0)

/* Element at storage offset o of t as a Lua value: integer (int64), boolean
 * (bool) or float. */
void lmf_pushelem(lua_State *L, const mf_tensor *t, int64_t o);
/* The Lua value at `arg` as an element of dtype dt, in *f (and exactly in *i
 * for int64). Numbers and booleans (1/0) are accepted; int64 takes integral
 * values only: 2.5 is an error, never silently truncated. */
void lmf_checkscalar(lua_State *L, int arg, mf_dtype dt, double *f, int64_t *i);

/* ------------------------------------------------------------------ arguments */
/* 1-based (or negative) Lua dim → 0-based; `extra` admits ndim+1 (unsqueeze). */
int lmf_checkdim(lua_State *L, int arg, int ndim, int extra);
/* 1-based (or negative) Lua index into a dim of `size` → 0-based. */
int64_t lmf_checkindex(lua_State *L, int arg, int64_t size);
int64_t lmf_checkint(lua_State *L, int arg); /* an integral number */
/* 1-based positions at `arg` (an int64 tensor or a Lua array of integers)
 * for a dim of `size`, as a new 0-based int64 tensor pushed on the stack
 * (checked: 1..size or -size..-1). */
mf_tensor **lmf_checkindices(lua_State *L, int arg, int64_t size);
/* The 1-D int64 tensor at `arg` of 1-based ids or rows (not range-checked:
 * the core kernel checks them) as a new contiguous 0-based copy, each entry
 * minus 1, pushed on the stack. */
mf_tensor *lmf_checkids0(lua_State *L, int arg);
mf_dtype lmf_checkdtype(lua_State *L, int arg);
/* Converts the 0-based int64 indices at stack index idx to 1-based for Lua,
 * in place, or in a copy (replacing it on the stack) when autograd saved them
 * for the backward of `values` (may be NULL). */
void lmf_indices_to_1based(lua_State *L, int idx, const mf_tensor *values);
/* Optional trailing dtype: nothing (def), a dtype name, or {dtype=, requires_grad=}. */
mf_dtype lmf_optdtype(lua_State *L, int arg, mf_dtype def);
/* Ends a constructor whose new tensor is on top: applies requires_grad = true
 * from the option table at `arg`, if any. Returns 1 (the tensor). */
int lmf_finish_new(lua_State *L, int arg);
/* Sizes given as numbers from `arg` on, or as one table at `arg`. Returns the
 * number of dims; *next is the first argument after them. `allow_infer`
 * admits -1 (view, reshape, expand). */
int lmf_checkshape(lua_State *L, int arg, int64_t *shape, int *next, int allow_infer);
/* A userdata box owning an mf_malloc'd pointer (freed by __gc), so a buffer
 * cannot leak when a Lua call raises. */
void **lmf_newbox(lua_State *L);
/* Errors on keys of the option table at `arg` not in the NULL-terminated list. */
void lmf_checkopts(lua_State *L, int arg, const char *const *keys);
/* Option field of the table at `arg` (pushed; returns its type). */
int lmf_getopt(lua_State *L, int arg, const char *key);
/* Option `key` of the table at `arg` (def when absent or no table), checked
 * for its type; nothing is left on the stack. */
int64_t lmf_optinteger(lua_State *L, int arg, const char *key, int64_t def);
double lmf_optnumber(lua_State *L, int arg, const char *key, double def);
int lmf_optboolean(lua_State *L, int arg, const char *key, int def);

/* ------------------------------------------------------------------ modules */
/* Each binding file registers its functions into the module table (stack
 * index `mod`) and, for those that are also tensor methods, into the methods
 * table (index `methods`). The tensor metatable exists before any of them
 * runs but lmf_open_tensor. */
void lmf_register(lua_State *L, int mod, int methods, const luaL_Reg *funcs);
void lmf_open_system(lua_State *L, int mod);
void lmf_open_tensor(lua_State *L, int mod, int methods);
void lmf_open_random(lua_State *L, int mod);
void lmf_open_math(lua_State *L, int mod, int methods);   /* lmf_math.c */
void lmf_open_linalg(lua_State *L, int mod, int methods); /* lmf_linalg.c */
void lmf_open_select(lua_State *L, int mod, int methods); /* lmf_select.c */
void lmf_open_autograd(lua_State *L, int mod, int methods); /* lmf_autograd.c */
void lmf_open_file(lua_State *L, int mod, int methods);     /* lmf_file.c */
void lmf_open_optim(lua_State *L, int mod, int methods);    /* lmf_optim.c */
/* The hyper-parameters of the optimizer param group table at index g that
 * `algo` reads (lmf_optim.c; also used by the training plans). */
void lmf_optim_hparams(lua_State *L, int g, mf_optim_algo algo, mf_optim_hparams *h);
void lmf_open_plan(lua_State *L, int mod, int methods);     /* lmf_plan.c */
void lmf_open_csv(lua_State *L, int mod, int methods);      /* lmf_csv.c */
void lmf_open_prep(lua_State *L, int mod, int methods);     /* lmf_prep.c */
void lmf_open_rows(lua_State *L, int mod, int methods);     /* lmf_rows.c */
void lmf_open_clean(lua_State *L, int mod, int methods);    /* lmf_clean.c */
void lmf_open_generator(lua_State *L, int mod, int methods); /* lmf_generator.c */
void lmf_open_feat(lua_State *L, int mod, int methods);      /* lmf_feat.c */
void lmf_open_classify(lua_State *L, int mod, int methods);  /* lmf_classify.c */
void lmf_open_linear(lua_State *L, int mod, int methods);    /* lmf_linear.c */
void lmf_open_neighbors(lua_State *L, int mod, int methods); /* lmf_neighbors.c */
void lmf_open_svm(lua_State *L, int mod, int methods);       /* lmf_svm.c */
/* Tensor properties t.grad, t.requires_grad, t.is_leaf, t.grad_fn: get
 * pushes the value (nil for unknown keys); set (value at index 3) returns 0
 * when `key` is not a settable property. */
int lmf_autograd_get(lua_State *L, mf_tensor *t, const char *key);
int lmf_autograd_set(lua_State *L, mf_tensor *t, const char *key);

int luaopen_moonforge_core(lua_State *L);

#endif
