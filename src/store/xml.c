/* Finding attributes of one element in policy text, as text. Used where
 * the store must see what the loader would hide: a certificate a policy
 * names (certs.c, before a remove), an <include-fragment> whose fragment
 * is empty (policy.c). One scanner, so both read attributes alike. */
#include <string.h>

#include "store/store-int.h"

bool cg_store_xml_find_attr(const char *text, const char *tag, bool skip_cdata,
			    cg_store_xml_attr_fn fn, void *ud)
{
	const size_t tl = strlen(tag);
	const char *p = text;
	while ((p = strchr(p, '<'))) {
		const char *q;
		if (strncmp(p, "<!--", 4) == 0) {
			if (!(q = strstr(p + 4, "-->")))
				return false;
			p = q + 3;
			continue;
		}
		if (skip_cdata && strncmp(p, "<![CDATA[", 9) == 0) {
			if (!(q = strstr(p + 9, "]]>")))
				return false;
			p = q + 3;
			continue;
		}
		if (strncmp(p, tag, tl) != 0 ||
		    !(cg_store_xml_blank(p[tl]) || p[tl] == '/' || p[tl] == '>')) {
			p++;
			continue;
		}
		q = p + tl;
		while (*q && *q != '>') {
			const char *start = q;
			while (cg_store_xml_blank(*q))
				q++;
			const char *an = q;
			while (*q && !cg_store_xml_blank(*q) && *q != '=' && *q != '>' && *q != '/')
				q++;
			size_t al = (size_t)(q - an);
			while (cg_store_xml_blank(*q))
				q++;
			if (*q == '=') {
				q++;
				while (cg_store_xml_blank(*q))
					q++;
				char quote = *q;
				if (quote != '"' && quote != '\'')
					break;
				const char *v = ++q, *ve = strchr(v, quote);
				if (!ve)
					return false;
				if (fn(cg_str_make(an, al), cg_str_make(v, (size_t)(ve - v)), ud))
					return true;
				q = ve + 1;
			} else if (q == start) {
				q++; /* '/' or a stray character: move on */
			}
		}
		p = *q ? q + 1 : q;
	}
	return false;
}
