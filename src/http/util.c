/* Small HTTP/1.1 helpers: header lookup, hop-by-hop test, reason phrases,
 * chunk-size lines, token and value validation for headers we emit. */
#include "http/h1.h"

#include "http/h1-chars.h"

const struct cg_h1_header *cg_h1_find_header(const struct cg_h1_header *hdrs, size_t n,
					     struct cg_str name)
{
	for (size_t i = 0; i < n; i++)
		if (cg_str_ieq(hdrs[i].name, name))
			return &hdrs[i];
	return NULL;
}

bool cg_h1_is_hop_by_hop(struct cg_str name, struct cg_str conn_tokens)
{
	static const struct cg_str fixed[] = {
		CG_STR("Connection"), CG_STR("Keep-Alive"), CG_STR("Proxy-Connection"),
		CG_STR("TE"),	      CG_STR("Trailer"),    CG_STR("Transfer-Encoding"),
		CG_STR("Upgrade"),
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (cg_str_ieq(name, fixed[i]))
			return true;
	struct cg_str rest = conn_tokens, tok;
	while (cg_str_next_csv(&rest, &tok))
		if (cg_str_ieq(name, tok))
			return true;
	return false;
}

const char *cg_h1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 511: return "Network Authentication Required";
	default: return "Unknown";
	}
}

size_t cg_h1_chunk_header(char out[20], uint64_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t k = 0;
	do {
		tmp[k++] = hex[n & 15];
		n >>= 4;
	} while (n);
	size_t len = 0;
	while (k)
		out[len++] = tmp[--k];
	out[len++] = '\r';
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

bool cg_h1_token_valid(struct cg_str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!CG_H1C(s.ptr[i], CG_H1C_TCHAR))
			return false;
	return true;
}

bool cg_h1_field_value_valid(struct cg_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!CG_H1C(s.ptr[i], CG_H1C_VALUE))
			return false;
	return true;
}
