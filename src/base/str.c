#include "base/str.h"

bool cg_str_to_u64(struct cg_str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.ptr[i] - '0';
		if (d > 9)
			return false;
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool cg_str_next_csv(struct cg_str *rest, struct cg_str *elem)
{
	while (rest->len) {
		long comma = cg_str_find_char(*rest, ',');
		size_t n = comma < 0 ? rest->len : (size_t)comma;
		struct cg_str e = cg_str_trim_ows(cg_str_make(rest->ptr, n));
		*rest = comma < 0 ? cg_str_make(rest->ptr + rest->len, 0)
				  : cg_str_make(rest->ptr + n + 1, rest->len - n - 1);
		if (e.len) {
			*elem = e;
			return true;
		}
	}
	return false;
}

static int b64_digit(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

long cg_b64_decode(struct cg_str in, bool url, unsigned char *out)
{
	size_t n = in.len, pad = 0, o = 0, bits = 0;
	while (n && in.ptr[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad && (n + pad) % 4)
		return -1;
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		int d = b64_digit((unsigned char)in.ptr[i], url);
		if (d < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return bits >= 6 ? -1 : (long)o;
}

long cg_b64_decode_blanks(struct cg_str in, char *tmp, unsigned char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < in.len; i++) {
		char c = in.ptr[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			tmp[n++] = c;
	}
	return cg_b64_decode(cg_str_make(tmp, n), false, out);
}
