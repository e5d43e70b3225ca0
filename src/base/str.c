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
