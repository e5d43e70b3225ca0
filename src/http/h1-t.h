/* HTTP/1.1 message model (types only). See h1.h for the functions. */
#ifndef CG_HTTP_H1_T_H
#define CG_HTTP_H1_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* Parser results besides "bytes consumed" (> 0). */
#define CG_H1_INCOMPLETE (-1)
#define CG_H1_ERROR (-2)

/* Named limits. The gateway fills them from its settings; tests hit each. */
#define CG_H1_DEFAULT_MAX_HEAD_BYTES (32 * 1024)  /* whole head -> 431 */
#define CG_H1_DEFAULT_MAX_LINE_BYTES (8 * 1024)   /* one header line -> 431 */
#define CG_H1_DEFAULT_MAX_URI_BYTES (8 * 1024)    /* request-target -> 414 */
#define CG_H1_DEFAULT_MAX_HEADERS 100             /* header count -> 431 */
#define CG_H1_MAX_CHUNK_EXT_BYTES 1024            /* per chunk line -> error */
#define CG_H1_MAX_TRAILER_BYTES (8 * 1024)        /* all trailers -> error */
/* Added: no method we could implement is longer; RFC 9112 3 says a method
 * longer than any implemented one gets 501. Not configurable on purpose. */
#define CG_H1_MAX_METHOD_BYTES 32                 /* method -> 501 */

struct cg_h1_limits {
	size_t max_head_bytes;
	size_t max_line_bytes;
	size_t max_uri_bytes;
	size_t max_headers;
};

struct cg_h1_header {
	struct cg_str name;  /* as received (case kept); compare with cg_str_ieq */
	struct cg_str value; /* leading/trailing OWS removed */
};

enum cg_h1_body_kind {
	CG_H1_BODY_NONE = 0, /* no body (no CL/TE, or CL: 0, or a bodiless response) */
	CG_H1_BODY_LENGTH,   /* exactly content_length bytes */
	CG_H1_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
	CG_H1_BODY_CLOSE,    /* responses only: read until the connection closes */
};

struct cg_h1_request {
	struct cg_str method;
	struct cg_str target;     /* request-target exactly as sent */
	struct cg_str path;       /* origin-form: target up to '?' (absolute-form: its path,
				   * "/" if none); empty for asterisk-form and CONNECT */
	struct cg_str query;      /* after '?', without it; empty if none */
	struct cg_str authority;  /* absolute-form only: host[:port] from the target
				   * (also set for CONNECT: the whole target) */
	int minor_version;        /* 0 or 1 */
	struct cg_h1_header *headers; /* the caller's array */
	size_t num_headers;
	/* Derived while parsing; the gateway relies on these, not on re-reading headers. */
	struct cg_str host;       /* Host header value (empty if absent, HTTP/1.0 only);
				   * with an absolute-form target: its authority, as
				   * RFC 9112 3.2.2 requires (Host is still required) */
	enum cg_h1_body_kind body_kind;
	uint64_t content_length;  /* valid when body_kind == CG_H1_BODY_LENGTH */
	bool keep_alive;          /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive */
	bool expect_continue;     /* "Expect: 100-continue" */
	bool has_upgrade;         /* an Upgrade header is present (we do not upgrade) */
	/* On CG_H1_ERROR: the status to answer with and a static reason for logs. */
	int error_status;         /* 400, 414, 417, 431, 501 or 505 */
	const char *error_reason; /* e.g. "bare CR in header value"; static storage */
};

struct cg_h1_response {
	int minor_version;
	int status;               /* 100..599 */
	struct cg_str reason;
	struct cg_h1_header *headers;
	size_t num_headers;
	enum cg_h1_body_kind body_kind;
	uint64_t content_length;
	bool keep_alive;          /* the upstream connection may be reused after the body */
	const char *error_reason; /* on CG_H1_ERROR; static storage */
};

/* Resumable state of the chunked-body decoder. Zero it (or call
 * cg_h1_chunked_init) before the first call for a body. */
struct cg_h1_chunked {
	int state;
	uint64_t remaining;   /* bytes left in the current chunk's data */
	size_t line_bytes;    /* bytes seen on the current size/ext line */
	size_t trailer_bytes; /* bytes of trailer section seen */
	uint64_t total;       /* payload bytes decoded so far (for body limits) */
	const char *error_reason;
};

#endif
