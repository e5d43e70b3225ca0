/* APIOps folders: import an APIM configuration written in the layout of
 * Azure/apiops' extractor into the store, and export the store in that
 * layout (docs/apiops.md lists the files and what each holds).
 *
 * This module sits above the store and uses only its public functions; the
 * CLI dispatches `certgate import|export` to cg_apiops_cli. */
#ifndef CG_APIOPS_APIOPS_H
#define CG_APIOPS_APIOPS_H

#include <stddef.h>

#include "apiops/apiops-t.h"

/* Imports folder dir into the store at store_path (created when missing).
 * All or nothing: the whole folder is read and parsed first, then every
 * write is tried on a private scratch copy of the store with the store's
 * own validation; only when all of them pass are they applied to the real
 * store (see docs/apiops.md for the one window where that can fail).
 * Entities in the store that the folder does not name are left alone.
 * Returns 0 with the warnings in err ("" when none), or -1 with every
 * problem in err, one per line, "FILE:line:col: message" or
 * "FILE: message", after a first line that says the import was refused.
 * Pass CG_APIOPS_ERR_LEN bytes to get them all. */
int cg_apiops_import(const char *store_path, const char *dir, char *err, size_t errlen);

/* Exports the store at store_path (which must exist) into dir, in the
 * same layout. dir must be missing or empty unless force; with force, the
 * layout's own entries in dir (policy.xml, apis/, "named values/", ...)
 * are removed first and other files are left alone. Secret named values
 * are written without their value; private keys are never written (a
 * certificate is written as its public DER). Returns 0 with the warnings
 * in err ("" when none), or -1 with the reason in err. */
int cg_apiops_export(const char *store_path, const char *dir, int force, char *err, size_t errlen);

/* `certgate import DIR` and `certgate export DIR [--force]`, with --help:
 * argv[0] is "import" or "export". Returns the process exit code (0 ok,
 * 1 failed, 2 usage), with messages on stderr. */
int cg_apiops_cli(int argc, char **argv, const char *store_path);

#endif
