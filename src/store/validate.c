/* Entity syntax checks. Messages quote the input (cut to QUOTE_MAX bytes so
 * a huge input cannot push the reason out of the error buffer) and say
 * what is allowed, so a user can fix the command without the docs. */
#include "store/validate.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"

#define QUOTE_MAX 80 /* bytes of the input quoted in a message */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int fail(char *err, size_t errlen, const char *what, const char *in, const char *why)
{
	size_t n = strlen(in);
	snprintf(err, errlen, "%s '%.*s%s' %s", what, (int)(n > QUOTE_MAX ? QUOTE_MAX : n), in,
		 n > QUOTE_MAX ? "..." : "", why);
	return CG_STORE_FAIL_INVALID;
}

int cg_store_check_hostname(const char *in, char *out, char *err, size_t errlen)
{
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "hostname is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_HOSTNAME_LEN)
		return fail(err, errlen, "hostname", in, "is longer than 253 characters");
	for (size_t i = 0; i < n; i++)
		out[i] = (char)cg_ascii_lower((unsigned char)in[i]);
	out[n] = 0;
	size_t i = 0;
	if (n >= 2 && out[0] == '*' && out[1] == '.')
		i = 2; /* a wildcard is a whole first label, as TLS matching allows */
	if (i == n)
		return fail(err, errlen, "hostname", in, "has nothing after the wildcard");
	size_t label_start = i;
	for (; i <= n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '.' || c == 0) {
			size_t ll = i - label_start;
			if (ll == 0)
				return fail(err, errlen, "hostname", in,
					    "has an empty label (a dot at the start or end, or two "
					    "dots)");
			if (ll > CG_STORE_MAX_LABEL_LEN)
				return fail(err, errlen, "hostname", in,
					    "has a label longer than 63 characters");
			if (out[label_start] == '-' || out[i - 1] == '-')
				return fail(err, errlen, "hostname", in,
					    "has a label that starts or ends with '-'");
			label_start = i + 1;
			continue;
		}
		if (c == '*')
			return fail(
				err, errlen, "hostname", in,
				"has a '*' that is not the whole first label (\"*.example.com\")");
		if (!is_alnum(c) && c != '-')
			return fail(err, errlen, "hostname", in,
				    "has a character other than letters, digits, '-' and '.'");
	}
	return 0;
}

int cg_store_check_id(const char *what, const char *in, char *err, size_t errlen)
{
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "%s is empty", what);
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_ID_LEN)
		return fail(err, errlen, what, in, "is longer than 80 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
			return fail(err, errlen, what, in,
				    "may contain only letters, digits, '-', '.' and '_'");
	}
	return 0;
}

int cg_store_check_display_name(const char *in, char *err, size_t errlen)
{
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "display name is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_DISPLAY_NAME_LEN)
		return fail(err, errlen, "display name", in, "is longer than 300 bytes");
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)in[i]))
			return fail(err, errlen, "display name", in,
				    "contains a control character");
	return 0;
}

int cg_store_check_path(const char *in, char *out, char *err, size_t errlen)
{
	const char *s = in;
	size_t n = strlen(in);
	while (n && *s == '/') {
		s++;
		n--;
	}
	while (n && s[n - 1] == '/')
		n--;
	if (n > CG_STORE_MAX_PATH_LEN)
		return fail(err, errlen, "API path", in, "is longer than 400 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '?' || c == '#')
			return fail(err, errlen, "API path", in,
				    "must not contain '?' or '#' (it is a path prefix only)");
		if (c == ' ' || is_ctl(c) || c == '\\')
			return fail(err, errlen, "API path", in,
				    "must not contain spaces, control characters or '\\'");
		if (c == '{' || c == '}' || c == '*')
			return fail(err, errlen, "API path", in,
				    "must not contain '{', '}' or '*' (templates belong to "
				    "operations)");
		if (c == '/' && s[i + 1] == '/')
			return fail(err, errlen, "API path", in, "must not contain \"//\"");
	}
	/* Dot segments would let a client's "../" normalisation jump between
	 * APIs; refuse them outright. */
	size_t seg = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			size_t sl = i - seg;
			if ((sl == 1 && s[seg] == '.') ||
			    (sl == 2 && s[seg] == '.' && s[seg + 1] == '.'))
				return fail(err, errlen, "API path", in,
					    "must not contain '.' or '..' segments");
			seg = i + 1;
		}
	}
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

int cg_store_check_service_url(const char *in, char *out, char *err, size_t errlen)
{
	const char *what = "backend URL";
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "backend URL is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_URL_LEN)
		return fail(err, errlen, what, in, "is longer than 2000 characters");
	size_t slen;
	if (n >= 7 && strncasecmp(in, "http://", 7) == 0)
		slen = 7;
	else if (n >= 8 && strncasecmp(in, "https://", 8) == 0)
		slen = 8;
	else
		return fail(err, errlen, what, in, "must start with http:// or https://");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || is_ctl(c) || c == '\\')
			return fail(err, errlen, what, in,
				    "must not contain spaces, control characters or '\\'");
		if (c == '?' || c == '#')
			return fail(err, errlen, what, in,
				    "must not have a query ('?') or fragment ('#')");
	}
	const char *auth = in + slen;
	size_t alen = strcspn(auth, "/");
	if (memchr(auth, '@', alen))
		return fail(
			err, errlen, what, in,
			"must not contain user info ('user@'); use a policy to add credentials");
	if (alen == 0)
		return fail(err, errlen, what, in, "has no host");
	const char *port = NULL;
	size_t hlen;
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (!close)
			return fail(err, errlen, what, in, "has an unterminated '[' IPv6 address");
		char v6[64];
		size_t vl = (size_t)(close - auth - 1);
		struct in6_addr a6;
		if (vl >= sizeof(v6))
			return fail(err, errlen, what, in, "has an invalid IPv6 address");
		memcpy(v6, auth + 1, vl);
		v6[vl] = 0;
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return fail(err, errlen, what, in, "has an invalid IPv6 address");
		size_t after = (size_t)(close + 1 - auth);
		if (after < alen) {
			if (auth[after] != ':')
				return fail(err, errlen, what, in,
					    "has text after the IPv6 address");
			port = auth + after + 1;
		}
		hlen = after;
	} else {
		const char *colon = memchr(auth, ':', alen);
		hlen = colon ? (size_t)(colon - auth) : alen;
		if (hlen == 0)
			return fail(err, errlen, what, in, "has no host");
		for (size_t i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)auth[i];
			if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
				return fail(
					err, errlen, what, in,
					"has a host with characters other than letters, digits, "
					"'-', '_' and '.'");
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		size_t pl = (size_t)(auth + alen - port);
		uint64_t v;
		if (!cg_str_to_u64(cg_str_make(port, pl), 65535, &v) || v == 0)
			return fail(err, errlen, what, in,
				    "has a port that is not a number 1-65535");
	}
	(void)hlen;
	for (size_t i = 0; i < n; i++)
		out[i] = i < slen ? (char)cg_ascii_lower((unsigned char)in[i]) : in[i];
	out[n] = 0;
	return 0;
}

static bool is_tchar(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int cg_store_check_method(const char *in, char *out, char *err, size_t errlen)
{
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "method is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_METHOD_LEN)
		return fail(err, errlen, "method", in, "is longer than 32 characters");
	if (strcmp(in, "*") == 0) {
		strcpy(out, "*");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (!is_tchar(c) || c == '*')
			return fail(err, errlen, "method", in,
				    "is not an HTTP method (a token like GET) or '*'");
		out[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	out[n] = 0;
	return 0;
}

/* Reads "{name}" at t[*i] (t[*i] == '{'), checks the name and that it is
 * new, records it, and appends "{}" to shape. */
static int template_param(const char *in, size_t *i, const char *names[], size_t name_lens[],
			  size_t *num, char *shape, size_t *sp, char *err, size_t errlen)
{
	const char *what = "URL template";
	size_t start = *i + 1, j = start;
	while (in[j] && in[j] != '}' && in[j] != '{' && in[j] != '/' && in[j] != '?' &&
	       in[j] != '&' && in[j] != '=')
		j++;
	if (in[j] != '}')
		return fail(err, errlen, what, in, "has a '{' without its '}'");
	size_t nl = j - start;
	if (nl == 0)
		return fail(err, errlen, what, in, "has an empty parameter name '{}'");
	for (size_t k = start; k < j; k++) {
		unsigned char c = (unsigned char)in[k];
		if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
			return fail(err, errlen, what, in,
				    "has a parameter name with characters other than letters, "
				    "digits, '_', '-' and '.'");
	}
	for (size_t k = 0; k < *num; k++)
		if (name_lens[k] == nl && memcmp(names[k], in + start, nl) == 0)
			return fail(err, errlen, what, in, "uses the same parameter name twice");
	if (*num == CG_STORE_MAX_TEMPLATE_PARAMS)
		return fail(err, errlen, what, in, "has more than 32 parameters");
	names[*num] = in + start;
	name_lens[*num] = nl;
	(*num)++;
	shape[(*sp)++] = '{';
	shape[(*sp)++] = '}';
	*i = j + 1;
	return 0;
}

int cg_store_check_url_template(const char *in, char *shape, char *err, size_t errlen)
{
	const char *what = "URL template";
	size_t n = strlen(in);
	if (n == 0) {
		snprintf(err, errlen, "URL template is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (n > CG_STORE_MAX_TEMPLATE_LEN)
		return fail(err, errlen, what, in, "is longer than 1000 characters");
	if (in[0] != '/')
		return fail(err, errlen, what, in, "must start with '/'");
	const char *names[CG_STORE_MAX_TEMPLATE_PARAMS];
	size_t name_lens[CG_STORE_MAX_TEMPLATE_PARAMS];
	size_t num = 0, sp = 0, i = 0;
	int rc;
	/* The shape is never longer than the input: "{name}" becomes "{}". */
	while (in[i] && in[i] != '?') {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || is_ctl(c) || c == '\\' || c == '#')
			return fail(err, errlen, what, in,
				    "must not contain spaces, control characters, '\\' or '#'");
		if (c == '}')
			return fail(err, errlen, what, in, "has a '}' without its '{'");
		if (c == '/' && in[i + 1] == '/')
			return fail(err, errlen, what, in, "must not contain \"//\"");
		if (c == '*') {
			if (in[i - 1] != '/' || in[i + 1] != 0)
				return fail(err, errlen, what, in,
					    "may use '*' only as a final \"/*\" segment");
			shape[sp++] = '*';
			i++;
			continue;
		}
		if (c == '{') {
			if ((rc = template_param(in, &i, names, name_lens, &num, shape, &sp, err,
						 errlen)))
				return rc;
			/* "{a}{b}": where one ends is ambiguous (the gateway's
			 * router refuses it too). */
			if (in[i] == '{')
				return fail(err, errlen, what, in,
					    "has two {parameters} with nothing between them");
			continue;
		}
		shape[sp++] = (char)c;
		i++;
	}
	if (in[i] == '?') {
		shape[sp++] = '?';
		i++;
		if (!in[i])
			return fail(err, errlen, what, in, "has an empty query part after '?'");
		while (in[i]) {
			/* One "name=value" element: the name literal, the value a
			 * {param} or a literal. */
			size_t ks = i;
			while (in[i] && in[i] != '=' && in[i] != '&') {
				unsigned char c = (unsigned char)in[i];
				if (c == '{' || c == '}' || c == '?' || c == '#' || c == ' ' ||
				    is_ctl(c))
					return fail(
						err, errlen, what, in,
						"has a query part that is not name={param}&...");
				shape[sp++] = (char)c;
				i++;
			}
			if (i == ks || in[i] != '=')
				return fail(err, errlen, what, in,
					    "has a query part that is not name={param}&...");
			shape[sp++] = '=';
			i++;
			if (in[i] == '{') {
				if ((rc = template_param(in, &i, names, name_lens, &num, shape, &sp,
							 err, errlen)))
					return rc;
			} else {
				while (in[i] && in[i] != '&') {
					unsigned char c = (unsigned char)in[i];
					if (c == '{' || c == '}' || c == '?' || c == '#' ||
					    c == ' ' || c == '=' || is_ctl(c))
						return fail(err, errlen, what, in,
							    "has a query part that is not "
							    "name={param}&...");
					shape[sp++] = (char)c;
					i++;
				}
			}
			if (in[i] == '&') {
				shape[sp++] = '&';
				i++;
				if (!in[i])
					return fail(err, errlen, what, in,
						    "has a query part that ends with '&'");
			} else if (in[i]) {
				return fail(err, errlen, what, in,
					    "has a query part that is not name={param}&...");
			}
		}
	}
	shape[sp] = 0;
	return 0;
}
