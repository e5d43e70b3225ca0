/* Syntax checks for the store's entities, shared by the store's writes and
 * (later) the REST API so both refuse the same things with the same words.
 * Each function accepts a NUL-terminated input, returns 0 or
 * CG_STORE_FAIL_INVALID with a message in err that quotes the input, and,
 * where the stored form differs from the input, writes the normalised form
 * to out (out must hold the named limit + 1 bytes; nothing is allocated). */
#ifndef CG_STORE_VALIDATE_H
#define CG_STORE_VALIDATE_H

#include <stddef.h>

#include "store/store-t.h"

/* DNS name, lowercased into out (CG_STORE_MAX_HOSTNAME_LEN + 1): labels of
 * letters, digits and inner hyphens (1-63 chars), dots between, an optional
 * leading "*." wildcard label. */
int cg_store_check_hostname(const char *in, char *out, char *err, size_t errlen);

/* Resource id (API or operation): ^[A-Za-z0-9-._]+$, 1-80 chars.
 * what names the thing in the message ("API id"). */
int cg_store_check_id(const char *what, const char *in, char *err, size_t errlen);

/* Display name: 1-300 bytes, no control characters. */
int cg_store_check_display_name(const char *in, char *err, size_t errlen);

/* API path (URL suffix), stripped of leading/trailing '/' into out
 * (CG_STORE_MAX_PATH_LEN + 1). May be empty. Refuses '?', '#', "//", "." and
 * ".." segments, spaces, control characters and '\\'. */
int cg_store_check_path(const char *in, char *out, char *err, size_t errlen);

/* Backend URL: http:// or https:// (scheme lowercased into out,
 * CG_STORE_MAX_URL_LEN + 1), a host (name, IPv4 or [IPv6]), optional port
 * 1-65535, optional path; no query, fragment or userinfo. */
int cg_store_check_service_url(const char *in, char *out, char *err, size_t errlen);

/* HTTP method: a token (RFC 9110 tchar), uppercased into out
 * (CG_STORE_MAX_METHOD_LEN + 1), or "*" for any method. */
int cg_store_check_method(const char *in, char *out, char *err, size_t errlen);

/* URL template: '/' then segments with {param}s (balanced, non-empty names
 * of [A-Za-z0-9_.-], unique), an optional query part "?a={a}&b=lit", or a
 * final "/" + "*" wildcard segment. shape (CG_STORE_MAX_TEMPLATE_LEN + 1) receives
 * the template with every parameter name removed ("/a/{}"), so templates
 * that differ only in parameter names compare equal, as in APIM. */
int cg_store_check_url_template(const char *in, char *shape, char *err, size_t errlen);

#endif
