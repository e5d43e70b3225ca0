/* HTTP/1.1 (RFC 9112) parsing: strict, incremental, zero-copy, bounded.
 *
 * The parsers never allocate and never copy: every slice in the result points
 * into the caller's buffer, so the buffer must not move while they are used.
 * Strictness is a security property here (request smuggling): anything that
 * two implementations could frame differently is refused.
 *
 * Refused (CG_H1_ERROR, with error_status/error_reason set):
 *  - Content-Length together with Transfer-Encoding (400)
 *  - several Content-Length values that differ, or a non-numeric one (400)
 *    (identical repeats, also "5, 5", are accepted as one)
 *  - a Transfer-Encoding other than exactly "chunked" (501); any TE in an
 *    HTTP/1.0 request (400)
 *  - obs-fold (a header line starting with SP/HTAB) (400)
 *  - bare CR anywhere, and bare LF as a line end (400)
 *  - control characters (other than HTAB in values) in any field, a space
 *    between a header name and its colon, an empty or non-token name (400)
 *  - a request-target with CTL, SP or obs-text (400), or longer than
 *    max_uri_bytes (414); a '#' fragment, a form that does not fit the
 *    method (asterisk-form only for OPTIONS, authority-form only and always
 *    for CONNECT), userinfo or a bad authority in absolute-form (400)
 *  - a method that is not a token (400) or longer than CG_H1_MAX_METHOD_BYTES (501)
 *  - a header line longer than max_line_bytes, more than max_headers headers,
 *    or a head longer than max_head_bytes (431)
 *  - an HTTP/1.1 request without exactly one Host header, or several Host
 *    headers in any version, or a Host value that is not host[:port] (400)
 *  - an HTTP version other than 1.0 or 1.1 (505 for HTTP/2+ and 0.9, 400 when malformed)
 *  - an Expect other than 100-continue (417)
 * docs/http.md lists every refusal with its reason text.
 *
 * Incremental calls: with prev_len > 0 a call re-parses only when the new
 * bytes end the head, hold a bare LF (or CR CR LF), pass max_head_bytes, or
 * cross a 2 KiB step; otherwise it answers CG_H1_INCOMPLETE at once. So an
 * error inside a head that is still arriving may be reported a little later
 * than a one-shot parse would, but always with the same status and reason.
 * lim may be NULL (defaults). */
#ifndef CG_HTTP_H1_H
#define CG_HTTP_H1_H

#include "http/h1-t.h"

/* Defaults (the CG_H1_DEFAULT_* constants). */
void cg_h1_limits_default(struct cg_h1_limits *lim);

/* Parses a request head from buf[0..len).
 * hdrs has room for hdr_cap headers (pass >= lim->max_headers).
 * prev_len is how many of these bytes the previous call already saw (0 the
 * first time); it lets the parser skip a full re-scan while the head is
 * incomplete (slowloris costs O(n), not O(n^2)).
 * Returns the head's length in bytes (> 0, body follows) when complete,
 * CG_H1_INCOMPLETE when more bytes are needed (already > max_head_bytes is
 * reported as CG_H1_ERROR with 431, never as incomplete), or CG_H1_ERROR. */
int cg_h1_parse_request(const char *buf, size_t len, size_t prev_len, struct cg_h1_request *req,
			struct cg_h1_header *hdrs, size_t hdr_cap, const struct cg_h1_limits *lim);

/* Parses a response head (from an upstream). request_method is the method
 * of the request this answers: HEAD and a 2xx to CONNECT have no body;
 * 1xx, 204 and 304 never have one. Framing rules are as for requests, and
 * without CL or TE the body runs to the close (CG_H1_BODY_CLOSE).
 * Same return contract as cg_h1_parse_request. A 1xx response is returned
 * like any other; the caller skips it and parses again. */
int cg_h1_parse_response(const char *buf, size_t len, size_t prev_len, struct cg_h1_response *resp,
			 struct cg_h1_header *hdrs, size_t hdr_cap, const struct cg_h1_limits *lim,
			 struct cg_str request_method);

void cg_h1_chunked_init(struct cg_h1_chunked *d);

/* Decodes a chunked body in place.
 * On entry buf[0..*len) holds raw bytes that follow what earlier calls
 * consumed. On return the decoded payload of this call is at buf[0..*len).
 * Returns CG_H1_INCOMPLETE when the body goes on (feed more bytes), a value
 * >= 0 when the body ended (terminating chunk and trailers consumed): that
 * many bytes that came after the body are left at buf[*len .. *len + ret),
 * e.g. a pipelined request; or CG_H1_ERROR (d->error_reason set) for a bad
 * chunk size (non-hex, overflow, > 16 hex digits), a missing CRLF after chunk
 * data, a chunk extension over CG_H1_MAX_CHUNK_EXT_BYTES, trailers over
 * CG_H1_MAX_TRAILER_BYTES, bare CR/LF. Trailers are checked and dropped.
 * On CG_H1_ERROR *len is set to 0 (nothing of that call is to be forwarded)
 * and every later call fails too. After the end, a further call hands all
 * its bytes back as "after the body" (*len = 0, returns the old *len). */
long cg_h1_chunked_decode(struct cg_h1_chunked *d, char *buf, size_t *len);

/* Finds a header by name (case-insensitive); NULL if absent. */
const struct cg_h1_header *cg_h1_find_header(const struct cg_h1_header *hdrs, size_t n,
					     struct cg_str name);

/* True for hop-by-hop headers that a proxy never forwards (RFC 9110 7.6.1):
 * Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade. Headers named by Connection are
 * hop-by-hop too: pass the request's Connection value as conn_tokens. */
bool cg_h1_is_hop_by_hop(struct cg_str name, struct cg_str conn_tokens);

/* Standard reason phrase for a status ("OK", "Misdirected Request" ...);
 * "Unknown" for codes it does not know. */
const char *cg_h1_reason(int status);

/* Added for re-encoding a body as chunked: writes the chunk-size line
 * "<lowercase hex>\r\n" for a chunk of n payload bytes into out and returns
 * its length (3..18). out is also NUL-terminated for convenience; the
 * caller owns it. n == 0 writes "0\r\n", the start of the last chunk: the
 * caller completes the body with "\r\n" (no trailers), i.e. the full
 * terminator is "0\r\n\r\n". */
size_t cg_h1_chunk_header(char out[20], uint64_t n);

/* True when s is a non-empty RFC 9110 token (header name, method). */
bool cg_h1_token_valid(struct cg_str s);

/* True when s can be sent as a header value without changing the message's
 * framing: only VCHAR, obs-text, SP and HTAB (never CR, LF, NUL or other
 * CTLs, never DEL). Empty is valid. Leading/trailing SP/HTAB are accepted
 * (a receiver strips them as OWS); trim first if they matter. */
bool cg_h1_field_value_valid(struct cg_str s);

#endif
