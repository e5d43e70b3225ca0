/* The expression engine as the policy loader's compile hook. */
#ifndef CG_POLICY_EXPRHOOK_H
#define CG_POLICY_EXPRHOOK_H

#include "base/str.h"

/* A cg_pol_expr_compile_fn: compiles with src/expr into ud, which must be
 * the struct cg_arena * the programs live in (the snapshot's). Section
 * rules come from the section name. On failure err holds the engine's first
 * error with its absolute position ("... (at line:col)"). */
int cg_pol_expr_hook(void *ud, struct cg_str src, int is_block, int line, int col, const char *section,
		     void **compiled, char *err, size_t errlen);

#endif
