/* Limits of the APIOps folder import/export (types and constants only;
 * functions are in apiops.h). Each limit is hit by a test in
 * tests/integration/test_apiops.py. */
#ifndef CG_APIOPS_APIOPS_T_H
#define CG_APIOPS_APIOPS_T_H

/* One file of the folder (an information JSON, a policy.xml, a certificate
 * or a password file). Above every store limit (policies 256 KB, fragments
 * 512 KB, certificate files 256 KB), so a too-big policy gets the store's
 * own message; this cap only stops a stray huge file from being read. */
#define CG_APIOPS_MAX_FILE_BYTES (1024 * 1024)

/* Entity folders (APIs, operations, named values, fragments, certificates,
 * CA certificates, products, product-API link folders, subscriptions) in
 * one import. Above the sum of what a store can hold
 * in practice; it bounds the memory and time of the read-everything-first
 * pass, which keeps the whole folder in memory. */
#define CG_APIOPS_MAX_ENTITIES 100000

/* A path inside the folder, the folder's own path included. The layout is
 * at most four levels deep (apis/A/operations/O/file), so longer paths are
 * a mistake, and messages quoting them stay readable. */
#define CG_APIOPS_MAX_PATH_LEN 1024

/* What a caller should pass as errlen to get every diagnostic (a shorter
 * buffer is cut, ending in "..."). */
#define CG_APIOPS_ERR_LEN (256 * 1024)

#endif
