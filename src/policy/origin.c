/* CORS origins (the cors policy's <origin> and a request's Origin header):
 * parsed once into scheme, host and port so that "https://a.example",
 * "https://A.example:443" and "https://a.example/" compare equal, as APIM
 * documents (an omitted port is 80 for http and 443 for https). */
#include "policy/policy.h"

static bool scheme_char(unsigned char c, bool first)
{
	bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

/* reg-name or IPv4 characters (RFC 3986), and ':' / hex inside [v6]. */
static bool host_char(unsigned char c, bool bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (bracketed)
		return c == ':' || c == '.';
	return c == '-' || c == '.' || c == '_' || c == '~';
}

static bool parse_host(struct cg_str hp, struct cg_pol_origin *out)
{
	size_t i = 0;
	if (hp.len && hp.ptr[0] == '[') {
		long close = cg_str_find_char(hp, ']');
		if (close < 2)
			return false;
		for (i = 1; i < (size_t)close; i++)
			if (!host_char((unsigned char)hp.ptr[i], true))
				return false;
		i = (size_t)close + 1;
	} else {
		while (i < hp.len && hp.ptr[i] != ':') {
			if (!host_char((unsigned char)hp.ptr[i], false))
				return false;
			i++;
		}
		if (i == 0)
			return false;
	}
	out->host = cg_str_make(hp.ptr, i);
	if (i == hp.len)
		return true;
	if (hp.ptr[i] != ':')
		return false;
	uint64_t port;
	if (!cg_str_to_u64(cg_str_sub(hp, i + 1, hp.len), 65535, &port) || port == 0)
		return false;
	out->port = (uint32_t)port;
	return true;
}

bool cg_pol_origin_parse(struct cg_str s, struct cg_pol_origin *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < s.len && scheme_char((unsigned char)s.ptr[i], i == 0))
		i++;
	if (i == 0 || s.len - i < 3 || memcmp(s.ptr + i, "://", 3) != 0)
		return false;
	out->scheme = cg_str_make(s.ptr, i);
	struct cg_str rest = cg_str_sub(s, i + 3, s.len);
	/* The authority ends at the path; a path is ignored (an origin has
	 * none: "http://example.com/" is APIM's own example). */
	size_t end = 0;
	while (end < rest.len && rest.ptr[end] != '/') {
		if (rest.ptr[end] == '?' || rest.ptr[end] == '#' || rest.ptr[end] == '@')
			return false;
		end++;
	}
	for (size_t k = end; k < rest.len; k++)
		if (rest.ptr[k] == '?' || rest.ptr[k] == '#' || (unsigned char)rest.ptr[k] <= ' ')
			return false;
	if (!parse_host(cg_str_make(rest.ptr, end), out))
		return false;
	if (!out->port && cg_str_ieq_lit(out->scheme, "http"))
		out->port = 80;
	else if (!out->port && cg_str_ieq_lit(out->scheme, "https"))
		out->port = 443;
	return true;
}

bool cg_pol_origin_eq(const struct cg_pol_origin *a, const struct cg_pol_origin *b)
{
	return a->port == b->port && cg_str_ieq(a->scheme, b->scheme) && cg_str_ieq(a->host, b->host);
}
