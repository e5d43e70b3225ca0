/* The pattern engine behind Regex (IsMatch, Match, Matches, Replace,
 * Split, instances; members.c) on POSIX extended regular expressions
 * (glibc regcomp/regexec). .NET patterns are translated: \d \D, \w \W \s
 * \S (inside and outside brackets), \t \n \r \f \v \uXXXX, (?:...) and named
 * groups (?<n>...). Refused at load time: lazy quantifiers, lookarounds,
 * backreferences by name, atomic groups, inline options. Matching is
 * POSIX leftmost-longest, not .NET's leftmost-first: alternations such as
 * "a|ab" may pick a longer match (see docs/expressions.md). */
#include "expr/internal.h"

#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#define CG_EXPR_RE_MAX_GROUPS CG_EXPR_RE_GROUPS /* capture groups kept per pattern */
#define CG_EXPR_RE_MAX_PATTERN 4096 /* translated pattern bytes */
#define CG_EXPR_RE_MAX_REPEAT 100   /* {n,m} bounds */

struct cg_expr_regex {
	regex_t re;
	bool ok;
	unsigned ngroups;                          /* .NET-visible groups, 0 = whole match */
	uint8_t map[CG_EXPR_RE_MAX_GROUPS];        /* .NET group index -> POSIX subexpression */
	struct cg_str names[CG_EXPR_RE_MAX_GROUPS]; /* .NET group names (empty: numbered) */
	struct cg_str pattern;                     /* as written (Regex.ToString()) */
};

/* glibc's regex follows LC_CTYPE: a UTF-8 locale makes '.' and [^x] match
 * one character, not one byte. Set per call with uselocale() (thread-local,
 * the process locale is left alone). */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t enter_utf8(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_locale ? uselocale(utf8_locale) : (locale_t)0;
}

static void leave_utf8(locale_t old)
{
	if (old)
		uselocale(old);
}

static void re_cleanup(void *p)
{
	struct cg_expr_regex *x = p;
	if (x->ok)
		regfree(&x->re);
	x->ok = false;
}

static bool put(char *o, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l >= CG_EXPR_RE_MAX_PATTERN)
		return false;
	memcpy(o + *n, s, l);
	*n += l;
	return true;
}

/* Translates a .NET pattern to POSIX ERE. Returns NULL with *why set. */
static char *translate(struct cg_str p, struct cg_arena *a, struct cg_expr_regex *x, const char **why)
{
	char *o = cg_arena_alloc(a, CG_EXPR_RE_MAX_PATTERN);
	if (!o) {
		*why = "out of memory";
		return NULL;
	}
	size_t n = 0;
	bool in_br = false;
	unsigned posix_group = 0;
	x->ngroups = 1;
	x->map[0] = 0;
	for (size_t i = 0; i < p.len; i++) {
		char c = p.ptr[i];
		char one[8] = { c, 0 };
		if (c == '\\' && i + 1 < p.len) {
			char e = p.ptr[++i];
			const char *rep = NULL;
			char lit[8] = { 0 };
			switch (e) {
			case 'd': rep = in_br ? "0-9" : "[0-9]"; break;
			case 'D': rep = in_br ? NULL : "[^0-9]"; break;
			case 'w': rep = in_br ? "_[:alnum:]" : "[_[:alnum:]]"; break;
			case 'W': rep = in_br ? NULL : "[^_[:alnum:]]"; break;
			case 's': rep = in_br ? "[:space:]" : "[[:space:]]"; break;
			case 'S': rep = in_br ? NULL : "[^[:space:]]"; break;
			case 'b': rep = in_br ? NULL : "\\b"; break;
			case 't': lit[0] = '\t'; break;
			case 'n': lit[0] = '\n'; break;
			case 'r': lit[0] = '\r'; break;
			case 'f': lit[0] = '\f'; break;
			case 'v': lit[0] = '\v'; break;
			case 'u': {
				/* \uXXXX: the character's UTF-8 bytes, escaped as needed */
				size_t j = i;
				char tmp[8];
				struct cg_str sub = cg_str_make(p.ptr + i - 1, p.len - i + 1);
				size_t k = 0;
				size_t len = cg_expr_unescape(sub, &k, tmp);
				if (!len) {
					*why = "invalid \\u escape";
					return NULL;
				}
				i = j + k - 2;
				memcpy(lit, tmp, len);
				break;
			}
			default:
				if (e >= '1' && e <= '9') {
					*why = "backreferences are not supported";
					return NULL;
				}
				if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
					*why = "unsupported escape";
					return NULL;
				}
				/* an escaped metacharacter stays escaped outside brackets */
				if (in_br) {
					lit[0] = e;
				} else {
					lit[0] = '\\';
					lit[1] = e;
				}
			}
			if (!rep && !lit[0]) {
				*why = "negated classes inside brackets are not supported";
				return NULL;
			}
			if (!put(o, &n, rep ? rep : lit)) {
				*why = "pattern too long";
				return NULL;
			}
			continue;
		}
		if (in_br) {
			if (c == ']')
				in_br = false;
		} else if (c == '[') {
			in_br = true;
			if (!put(o, &n, "[")) {
				*why = "pattern too long";
				return NULL;
			}
			/* a leading ^ and ] are literal in both syntaxes */
			if (i + 1 < p.len && p.ptr[i + 1] == '^')
				o[n++] = p.ptr[++i];
			if (i + 1 < p.len && p.ptr[i + 1] == ']')
				o[n++] = p.ptr[++i];
			continue;
		} else if (c == '(') {
			posix_group++;
			if (i + 1 < p.len && p.ptr[i + 1] == '?') {
				if (i + 2 < p.len && p.ptr[i + 2] == ':') {
					i += 2; /* (?:...) : a POSIX group .NET does not number */
				} else if (i + 2 < p.len && (p.ptr[i + 2] == '<' || p.ptr[i + 2] == '\'') &&
					   i + 3 < p.len && p.ptr[i + 3] != '=' && p.ptr[i + 3] != '!') {
					char close = p.ptr[i + 2] == '<' ? '>' : '\'';
					size_t j = i + 3;
					while (j < p.len && p.ptr[j] != close)
						j++;
					if (j >= p.len || x->ngroups >= CG_EXPR_RE_MAX_GROUPS) {
						*why = "invalid group name";
						return NULL;
					}
					x->names[x->ngroups] = cg_arena_strdup_str(a, cg_str_make(p.ptr + i + 3, j - i - 3));
					x->map[x->ngroups++] = (uint8_t)posix_group;
					i = j;
				} else {
					*why = "lookarounds, atomic groups and inline options are not supported";
					return NULL;
				}
			} else {
				if (x->ngroups >= CG_EXPR_RE_MAX_GROUPS) {
					*why = "too many groups";
					return NULL;
				}
				x->names[x->ngroups] = CG_STR("");
				x->map[x->ngroups++] = (uint8_t)posix_group;
			}
			if (!put(o, &n, "(")) {
				*why = "pattern too long";
				return NULL;
			}
			continue;
		} else if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < p.len && p.ptr[i + 1] == '?') {
			*why = "lazy quantifiers are not supported";
			return NULL;
		} else if ((c == '*' || c == '+' || c == '?' || c == '{') && n > 0 &&
			   (o[n - 1] == '*' || o[n - 1] == '+' || o[n - 1] == '?' || o[n - 1] == '}') &&
			   !(n > 1 && o[n - 2] == '\\')) {
			/* .NET refuses "a++" too ("Nested quantifier"); glibc would
			 * build an exponential automaton for it */
			*why = "nested quantifier";
			return NULL;
		} else if (c == '{') {
			/* bounded repetition: small counts only, so the automaton
			 * glibc builds stays small */
			size_t j = i + 1;
			unsigned long v = 0;
			while (j < p.len && ((p.ptr[j] >= '0' && p.ptr[j] <= '9') || p.ptr[j] == ',')) {
				if (p.ptr[j] != ',')
					v = v * 10 + (unsigned long)(p.ptr[j] - '0');
				else
					v = 0;
				if (v > CG_EXPR_RE_MAX_REPEAT) {
					*why = "repetition count above 100";
					return NULL;
				}
				j++;
			}
			if (j == i + 1 || j >= p.len || p.ptr[j] != '}') {
				/* not a quantifier: .NET reads a literal '{' */
				if (!put(o, &n, "\\{")) {
					*why = "pattern too long";
					return NULL;
				}
				continue;
			}
		}
		if (!put(o, &n, one)) {
			*why = "pattern too long";
			return NULL;
		}
	}
	if (posix_group >= CG_EXPR_RE_MAX_GROUPS) {
		*why = "too many groups";
		return NULL;
	}
	o[n] = '\0';
	return o;
}

/* RegexOptions bits we honour: IgnoreCase = 1, Multiline = 2. */
struct cg_expr_regex *cg_expr_regex_compile(struct cg_arena *a, struct cg_str pattern, int options,
					    const char **why)
{
	struct cg_expr_regex *x = cg_arena_zalloc(a, sizeof(*x));
	if (!x) {
		*why = "out of memory";
		return NULL;
	}
	char *tp = translate(pattern, a, x, why);
	if (!tp)
		return NULL;
	int flags = REG_EXTENDED | ((options & 1) ? REG_ICASE : 0) | ((options & 2) ? REG_NEWLINE : 0);
	locale_t old = enter_utf8();
	int rc = regcomp(&x->re, tp, flags);
	leave_utf8(old);
	if (rc != 0) {
		*why = "invalid pattern";
		return NULL;
	}
	x->ok = true;
	x->pattern = pattern;
	if (cg_arena_on_cleanup(a, re_cleanup, x) < 0) {
		regfree(&x->re);
		*why = "out of memory";
		return NULL;
	}
	return x;
}

/* Matches at or after from. Fills .NET group spans (so = -1: no match). */
int cg_expr_regex_exec(const struct cg_expr_regex *x, struct cg_str s, size_t from, long so[], long eo[],
		       unsigned *ngroups)
{
	regmatch_t m[CG_EXPR_RE_MAX_GROUPS];
	m[0].rm_so = (regoff_t)from;
	m[0].rm_eo = (regoff_t)s.len;
	/* REG_STARTEND: the subject is a slice, not a C string */
	int flags = REG_STARTEND | (from > 0 ? REG_NOTBOL : 0);
	if (from > 0 && s.ptr[from - 1] == '\n')
		flags &= ~REG_NOTBOL;
	locale_t old = enter_utf8();
	int rc = regexec(&x->re, s.ptr ? s.ptr : "", CG_EXPR_RE_MAX_GROUPS, m, flags);
	leave_utf8(old);
	if (rc != 0)
		return 0;
	*ngroups = x->ngroups;
	for (unsigned g = 0; g < x->ngroups; g++) {
		so[g] = m[x->map[g]].rm_so;
		eo[g] = m[x->map[g]].rm_eo;
	}
	return 1;
}

int cg_expr_regex_group(const struct cg_expr_regex *x, struct cg_str name)
{
	for (unsigned g = 1; g < x->ngroups; g++)
		if (x->names[g].len && cg_str_eq(x->names[g], name))
			return (int)g;
	/* numbered groups by their number text */
	uint64_t v;
	if (cg_str_to_u64(name, CG_EXPR_RE_MAX_GROUPS, &v) && v < x->ngroups)
		return (int)v;
	return -1;
}

struct cg_str cg_expr_regex_pattern(const struct cg_expr_regex *x)
{
	return x->pattern;
}
