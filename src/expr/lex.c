/* Lexer: C# 7 tokens as slices with line:col. The whole source is tokenised
 * up front into an array (sources are short and bounded by
 * CG_EXPR_MAX_SOURCE_LEN), which gives the parser free lookahead for casts,
 * lambdas and generic calls. String literals are decoded into the arena. */
#include "expr/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_expr_report(struct cg_expr_diagctx *dc, bool warning, uint32_t line, uint32_t col,
		    const char *fmt, ...)
{
	struct cg_expr_diag *d = dc->diag;
	if (warning)
		d->n_warnings++;
	else
		d->n_errors++;
	if (d->n >= CG_EXPR_MAX_DIAGS)
		return;
	struct cg_expr_diag_item *it = &d->items[d->n++];
	it->warning = warning;
	/* Positions are relative to the expression; the caller's base places
	 * them in the policy text (only the first line is shifted by a column). */
	it->line = dc->base_line + line - 1;
	it->col = line == 1 ? dc->base_col + col - 1 : col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
}

struct lexer {
	struct cg_str s;
	size_t i;
	uint32_t line, col;
	struct cg_arena *arena;
	struct cg_expr_diagctx *dc;
};

static int peekc(const struct lexer *lx, size_t k)
{
	return lx->i + k < lx->s.len ? (unsigned char)lx->s.ptr[lx->i + k] : -1;
}

static void adv(struct lexer *lx)
{
	if (lx->i >= lx->s.len)
		return;
	if (lx->s.ptr[lx->i] == '\n') {
		lx->line++;
		lx->col = 1;
	} else if (((unsigned char)lx->s.ptr[lx->i] & 0xc0) != 0x80) {
		lx->col++; /* columns count characters, not UTF-8 continuation bytes */
	}
	lx->i++;
}

static bool is_id_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_id_char(int c)
{
	return is_id_start(c) || (c >= '0' && c <= '9');
}

static const struct {
	const char *w;
	uint8_t tk;
} keywords[] = {
	{ "true", TK_TRUE }, { "false", TK_FALSE }, { "null", TK_NULL }, { "new", TK_NEW },
	{ "is", TK_IS }, { "as", TK_AS }, { "var", TK_VAR }, { "if", TK_IF }, { "else", TK_ELSE },
	{ "return", TK_RETURN }, { "foreach", TK_FOREACH }, { "in", TK_IN }, { "for", TK_FOR },
	{ "while", TK_WHILE }, { "do", TK_DO }, { "switch", TK_SWITCH }, { "case", TK_CASE },
	{ "default", TK_DEFAULT }, { "break", TK_BREAK }, { "continue", TK_CONTINUE },
	{ "try", TK_TRY }, { "catch", TK_CATCH }, { "finally", TK_FINALLY }, { "throw", TK_THROW },
	{ "typeof", TK_TYPEOF }, { "out", TK_OUT },
};

/* Longest match first. */
static const struct {
	const char *p;
	uint8_t tk;
} puncts[] = {
	{ "<<=", TK_SHLEQ }, { ">>=", TK_SHREQ }, { "?\?=", TK_QQEQ },
	{ "?.", TK_QDOT }, { "?[", TK_QLBRACK }, { "??", TK_QQ }, { "=>", TK_ARROW },
	{ "<=", TK_LE }, { ">=", TK_GE }, { "==", TK_EQ }, { "!=", TK_NE }, { "&&", TK_ANDAND },
	{ "||", TK_OROR }, { "<<", TK_SHL }, { "++", TK_PLUSPLUS }, { "--", TK_MINUSMINUS },
	{ "+=", TK_PLUSEQ }, { "-=", TK_MINUSEQ }, { "*=", TK_STAREQ }, { "/=", TK_SLASHEQ },
	{ "%=", TK_PERCENTEQ }, { "&=", TK_AMPEQ }, { "|=", TK_PIPEEQ }, { "^=", TK_CARETEQ },
	{ "(", TK_LPAREN }, { ")", TK_RPAREN }, { "{", TK_LBRACE }, { "}", TK_RBRACE },
	{ "[", TK_LBRACK }, { "]", TK_RBRACK }, { ".", TK_DOT }, { ",", TK_COMMA },
	{ ";", TK_SEMI }, { ":", TK_COLON }, { "?", TK_QUESTION }, { "+", TK_PLUS },
	{ "-", TK_MINUS }, { "*", TK_STAR }, { "/", TK_SLASH }, { "%", TK_PERCENT },
	{ "&", TK_AMP }, { "|", TK_PIPE }, { "^", TK_CARET }, { "!", TK_BANG }, { "~", TK_TILDE },
	{ "<", TK_LT }, { ">", TK_GT }, { "=", TK_ASSIGN },
};
/* ">>" is not a token: the parser joins two adjacent '>' so that
 * List<List<string>> closes two type argument lists. */

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one escape after the backslash at lx->i (pointing at the char
 * after '\'). Writes UTF-8 to o, returns bytes written or -1. A surrogate
 * pair written as two \u escapes is joined into one code point. */
static int lex_escape(struct lexer *lx, char *o, uint32_t *unit)
{
	int c = peekc(lx, 0);
	uint32_t cp;
	switch (c) {
	case '\'': cp = '\''; break;
	case '"': cp = '"'; break;
	case '\\': cp = '\\'; break;
	case '0': cp = 0; break;
	case 'a': cp = 7; break;
	case 'b': cp = 8; break;
	case 'f': cp = 12; break;
	case 'n': cp = 10; break;
	case 'r': cp = 13; break;
	case 't': cp = 9; break;
	case 'v': cp = 11; break;
	case 'u':
	case 'x':
	case 'U': {
		int max = c == 'U' ? 8 : 4, nd = 0;
		adv(lx);
		cp = 0;
		while (nd < max && hexval(peekc(lx, 0)) >= 0) {
			cp = cp * 16 + (uint32_t)hexval(peekc(lx, 0));
			adv(lx);
			nd++;
		}
		if ((c != 'x' && nd != max) || nd == 0 || cp > 0x10ffff)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff && peekc(lx, 0) == '\\' && peekc(lx, 1) == 'u') {
			uint32_t lo = 0;
			int k;
			for (k = 0; k < 4 && hexval(peekc(lx, 2 + (size_t)k)) >= 0; k++)
				lo = lo * 16 + (uint32_t)hexval(peekc(lx, 2 + (size_t)k));
			if (k == 4 && lo >= 0xdc00 && lo <= 0xdfff) {
				for (k = 0; k < 6; k++)
					adv(lx);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
		}
		if (unit)
			*unit = cp;
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
		return (int)put_utf8(o, cp);
	}
	default:
		return -1;
	}
	adv(lx);
	if (unit)
		*unit = cp;
	return (int)put_utf8(o, cp);
}

static int lex_string(struct lexer *lx, struct cg_expr_token *t, bool verbatim)
{
	/* at the opening quote */
	adv(lx);
	size_t start = lx->i;
	char *buf = cg_arena_alloc(lx->arena, lx->s.len - lx->i + 1);
	if (!buf)
		return -1;
	size_t n = 0;
	for (;;) {
		int c = peekc(lx, 0);
		if (c < 0 || (!verbatim && c == '\n')) {
			cg_expr_report(lx->dc, false, t->line, t->col, "Newline in constant");
			return -1;
		}
		if (n > CG_EXPR_MAX_LITERAL_LEN) {
			cg_expr_report(lx->dc, false, t->line, t->col,
				       "string literal longer than %d bytes", CG_EXPR_MAX_LITERAL_LEN);
			return -1;
		}
		if (c == '"') {
			if (verbatim && peekc(lx, 1) == '"') {
				buf[n++] = '"';
				adv(lx);
				adv(lx);
				continue;
			}
			t->text = cg_str_make(lx->s.ptr + start, lx->i - start);
			adv(lx);
			break;
		}
		if (!verbatim && c == '\\') {
			uint32_t el = lx->line, ec = lx->col;
			adv(lx);
			int k = lex_escape(lx, buf + n, NULL);
			if (k < 0) {
				cg_expr_report(lx->dc, false, el, ec, "Unrecognized escape sequence");
				return -1;
			}
			n += (size_t)k;
			continue;
		}
		buf[n++] = (char)c;
		adv(lx);
	}
	t->kind = TK_STRING;
	t->sval = cg_str_make(buf, n);
	return 0;
}

/* Skips a nested literal inside an interpolation hole; i is at its first
 * char ('"', '\'', '@' or '$'). Returns the index after it, or -1. */
static long skip_literal(struct cg_str s, size_t i)
{
	bool verb = false, interp = false;
	while (i < s.len && (s.ptr[i] == '@' || s.ptr[i] == '$')) {
		if (s.ptr[i] == '@')
			verb = true;
		else
			interp = true;
		i++;
	}
	if (i >= s.len)
		return -1;
	char q = s.ptr[i++];
	while (i < s.len) {
		char c = s.ptr[i];
		if (c == '\\' && !verb) {
			i += 2;
			continue;
		}
		if (c == q) {
			if (verb && q == '"' && i + 1 < s.len && s.ptr[i + 1] == '"') {
				i += 2;
				continue;
			}
			return (long)i + 1;
		}
		if (interp && c == '{') {
			if (i + 1 < s.len && s.ptr[i + 1] == '{') {
				i += 2;
				continue;
			}
			long e = cg_expr_scan_hole(s, i + 1, verb);
			if (e < 0)
				return -1;
			/* skip alignment/format up to the closing brace */
			size_t j = (size_t)e;
			while (j < s.len && s.ptr[j] != '}')
				j++;
			if (j >= s.len)
				return -1;
			i = j + 1;
			continue;
		}
		if (!verb && c == '\n')
			return -1;
		i++;
	}
	return -1;
}

long cg_expr_scan_hole(struct cg_str s, size_t i, bool verbatim)
{
	int depth = 0;
	while (i < s.len) {
		char c = s.ptr[i];
		if (c == '"' || c == '\'' || ((c == '@' || c == '$') && i + 1 < s.len &&
					       (s.ptr[i + 1] == '"' || s.ptr[i + 1] == '@' || s.ptr[i + 1] == '$'))) {
			long e = skip_literal(s, i);
			if (e < 0)
				return -1;
			i = (size_t)e;
			continue;
		}
		if (c == '(' || c == '[' || c == '{') {
			depth++;
		} else if (c == ')' || c == ']') {
			depth--;
		} else if (c == '}') {
			if (depth == 0)
				return (long)i;
			depth--;
		} else if (depth == 0 && (c == ',' || c == ':')) {
			/* C# requires a conditional ?: inside a hole to be parenthesised,
			 * so the first top-level ':' starts the format. */
			return (long)i;
		} else if (c == '\n' && !verbatim) {
			return -1;
		}
		i++;
	}
	return -1;
}

static int lex_interp(struct lexer *lx, struct cg_expr_token *t, bool verbatim)
{
	/* lx->i is at the opening quote */
	size_t i = lx->i + 1;
	struct cg_str s = lx->s;
	size_t start = i;
	for (;;) {
		if (i >= s.len || (!verbatim && s.ptr[i] == '\n')) {
			cg_expr_report(lx->dc, false, t->line, t->col, "Newline in constant");
			return -1;
		}
		char c = s.ptr[i];
		if (c == '\\' && !verbatim) {
			i += 2;
			continue;
		}
		if (c == '"') {
			if (verbatim && i + 1 < s.len && s.ptr[i + 1] == '"') {
				i += 2;
				continue;
			}
			break;
		}
		if (c == '{' || c == '}') {
			if (i + 1 < s.len && s.ptr[i + 1] == c) {
				i += 2;
				continue;
			}
			if (c == '}') {
				cg_expr_report(lx->dc, false, t->line, t->col,
					       "A '}' character must be escaped (by doubling) in an interpolated string.");
				return -1;
			}
			long e = cg_expr_scan_hole(s, i + 1, verbatim);
			size_t j = e < 0 ? s.len : (size_t)e;
			while (j < s.len && s.ptr[j] != '}' && s.ptr[j] != '"' && s.ptr[j] != '\n')
				j++;
			if (e < 0 || j >= s.len || s.ptr[j] != '}') {
				cg_expr_report(lx->dc, false, t->line, t->col,
					       "Unterminated interpolation hole in an interpolated string");
				return -1;
			}
			i = j + 1;
			continue;
		}
		i++;
	}
	if (i - start > CG_EXPR_MAX_LITERAL_LEN) {
		cg_expr_report(lx->dc, false, t->line, t->col,
			       "string literal longer than %d bytes", CG_EXPR_MAX_LITERAL_LEN);
		return -1;
	}
	t->kind = TK_INTERP;
	t->verbatim = verbatim;
	t->text = cg_str_make(s.ptr + start, i - start);
	/* t->line/col stay at the token start; the parser re-lexes holes from
	 * the body and needs the body's position: */
	while (lx->i < i + 1)
		adv(lx);
	return 0;
}

static int lex_number(struct lexer *lx, struct cg_expr_token *t)
{
	size_t start = lx->i;
	char digits[96];
	size_t nd = 0;
	bool hex = false, real = false, over = false;
	if (peekc(lx, 0) == '0' && (peekc(lx, 1) == 'x' || peekc(lx, 1) == 'X')) {
		hex = true;
		adv(lx);
		adv(lx);
	}
	for (;;) {
		int c = peekc(lx, 0);
		if (c == '_' && nd) {
			adv(lx);
			continue;
		}
		bool ok = hex ? hexval(c) >= 0 : (c >= '0' && c <= '9');
		if (!hex && c == '.' && !real && peekc(lx, 1) >= '0' && peekc(lx, 1) <= '9')
			ok = real = true;
		else if (!hex && (c == 'e' || c == 'E') && nd) {
			int c1 = peekc(lx, 1);
			if ((c1 >= '0' && c1 <= '9') ||
			    ((c1 == '+' || c1 == '-') && peekc(lx, 2) >= '0' && peekc(lx, 2) <= '9')) {
				real = true;
				if (nd < sizeof(digits) - 2)
					digits[nd++] = (char)c;
				adv(lx);
				c = peekc(lx, 0);
				ok = true;
			}
		}
		if (!ok)
			break;
		if (nd < sizeof(digits) - 1)
			digits[nd++] = (char)c;
		else
			over = true;
		adv(lx);
	}
	digits[nd] = '\0';
	/* suffix */
	int c = peekc(lx, 0), c1 = peekc(lx, 1);
	uint8_t num = real ? NUM_DOUBLE : NUM_INT;
	if (!hex && (c == 'f' || c == 'F')) {
		num = NUM_FLOAT, real = true;
		adv(lx);
	} else if (!hex && (c == 'd' || c == 'D')) {
		num = NUM_DOUBLE, real = true;
		adv(lx);
	} else if (!hex && (c == 'm' || c == 'M')) {
		num = NUM_DECIMAL, real = true;
		adv(lx);
	} else if (!real && (((c == 'u' || c == 'U') && (c1 == 'l' || c1 == 'L')) ||
			     ((c == 'l' || c == 'L') && (c1 == 'u' || c1 == 'U')))) {
		num = NUM_ULONG;
		adv(lx);
		adv(lx);
	} else if (!real && (c == 'u' || c == 'U')) {
		num = NUM_UINT;
		adv(lx);
	} else if (!real && (c == 'l' || c == 'L')) {
		num = NUM_LONG;
		adv(lx);
	}
	t->text = cg_str_make(lx->s.ptr + start, lx->i - start);
	if (is_id_char(peekc(lx, 0)) || nd == 0 || over) {
		cg_expr_report(lx->dc, false, t->line, t->col, "Invalid number '%.*s'",
			       CG_STR_FMT(t->text));
		return -1;
	}
	t->num = num;
	if (real) {
		t->kind = TK_REAL;
		t->d = strtod(digits, NULL);
		if (num == NUM_FLOAT)
			t->d = (float)t->d;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, hex ? 16 : 10);
	if (errno == ERANGE) {
		cg_expr_report(lx->dc, false, t->line, t->col, "Integral constant is too large");
		return -1;
	}
	/* C#: an unsuffixed literal takes the first of int, uint, long, ulong
	 * that holds it; U: uint, ulong; L: long, ulong. */
	if (num == NUM_INT)
		num = v <= 0x7fffffffu ? NUM_INT : v <= 0xffffffffu ? NUM_UINT : v <= 0x7fffffffffffffffull ? NUM_LONG : NUM_ULONG;
	else if (num == NUM_UINT)
		num = v <= 0xffffffffu ? NUM_UINT : NUM_ULONG;
	else if (num == NUM_LONG)
		num = v <= 0x7fffffffffffffffull ? NUM_LONG : NUM_ULONG;
	t->kind = TK_INT;
	t->num = num;
	t->u = v;
	return 0;
}

static int lex_char(struct lexer *lx, struct cg_expr_token *t)
{
	adv(lx);
	int c = peekc(lx, 0);
	uint32_t unit;
	char tmp[8];
	if (c == '\\') {
		adv(lx);
		if (lex_escape(lx, tmp, &unit) < 0)
			goto bad;
	} else if (c < 0 || c == '\'' || c == '\n') {
		goto bad;
	} else {
		/* decode one UTF-8 character */
		unsigned char b = (unsigned char)c;
		int extra = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
		unit = extra == 3 ? b & 7 : extra == 2 ? b & 15 : extra == 1 ? b & 31 : b;
		adv(lx);
		for (int k = 0; k < extra; k++) {
			unit = (unit << 6) | ((unsigned)peekc(lx, 0) & 0x3f);
			adv(lx);
		}
	}
	if (unit > 0xffff || peekc(lx, 0) != '\'')
		goto bad;
	adv(lx);
	t->kind = TK_CHAR;
	t->u = unit;
	return 0;
bad:
	cg_expr_report(lx->dc, false, t->line, t->col, "Too many characters in character literal");
	return -1;
}

/* Lexes src into toks (room for src.len + 1); returns the count with the
 * final TK_EOF, or -1 after a report. */
static int lex_into(struct cg_str src, uint32_t line, uint32_t col, struct cg_arena *arena,
		    struct cg_expr_diagctx *dc, struct cg_expr_token *toks)
{
	struct lexer lx = { src, 0, line, col, arena, dc };
	size_t n = 0;
	for (;;) {
		/* whitespace and comments */
		for (;;) {
			int c = peekc(&lx, 0);
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
				adv(&lx);
			} else if (c == '/' && peekc(&lx, 1) == '/') {
				while (peekc(&lx, 0) >= 0 && peekc(&lx, 0) != '\n')
					adv(&lx);
			} else if (c == '/' && peekc(&lx, 1) == '*') {
				uint32_t cl = lx.line, cc = lx.col;
				adv(&lx);
				adv(&lx);
				while (peekc(&lx, 0) >= 0 && !(peekc(&lx, 0) == '*' && peekc(&lx, 1) == '/'))
					adv(&lx);
				if (peekc(&lx, 0) < 0) {
					cg_expr_report(dc, false, cl, cc, "End-of-file found, '*/' expected");
					return -1;
				}
				adv(&lx);
				adv(&lx);
			} else {
				break;
			}
		}
		struct cg_expr_token *t = &toks[n];
		t->line = lx.line;
		t->col = lx.col;
		size_t start = lx.i;
		int c = peekc(&lx, 0);
		if (c < 0) {
			t->kind = TK_EOF;
			t->text = cg_str_make(src.ptr + src.len, 0);
			return (int)n + 1;
		}
		int rc = 0;
		if (c == '"') {
			rc = lex_string(&lx, t, false);
		} else if (c == '@' && peekc(&lx, 1) == '"') {
			adv(&lx);
			rc = lex_string(&lx, t, true);
		} else if (c == '$' && peekc(&lx, 1) == '"') {
			adv(&lx);
			rc = lex_interp(&lx, t, false);
		} else if ((c == '$' && peekc(&lx, 1) == '@' && peekc(&lx, 2) == '"') ||
			   (c == '@' && peekc(&lx, 1) == '$' && peekc(&lx, 2) == '"')) {
			adv(&lx);
			adv(&lx);
			rc = lex_interp(&lx, t, true);
		} else if (c == '\'') {
			rc = lex_char(&lx, t);
		} else if ((c >= '0' && c <= '9') || (c == '.' && peekc(&lx, 1) >= '0' && peekc(&lx, 1) <= '9')) {
			rc = lex_number(&lx, t);
		} else if (is_id_start(c) || (c == '@' && is_id_start(peekc(&lx, 1)))) {
			bool at = c == '@'; /* @if is the identifier "if" */
			if (at)
				adv(&lx);
			size_t s0 = lx.i;
			while (is_id_char(peekc(&lx, 0)))
				adv(&lx);
			t->kind = TK_IDENT;
			t->text = cg_str_make(src.ptr + s0, lx.i - s0);
			if (!at)
				for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
					if (cg_str_eq(t->text, cg_str_from_c(keywords[k].w)))
						t->kind = keywords[k].tk;
			n++;
			continue;
		} else {
			size_t k;
			for (k = 0; k < sizeof(puncts) / sizeof(puncts[0]); k++) {
				size_t pl = strlen(puncts[k].p);
				if (lx.i + pl <= src.len && memcmp(src.ptr + lx.i, puncts[k].p, pl) == 0)
					break;
			}
			if (k == sizeof(puncts) / sizeof(puncts[0])) {
				cg_expr_report(dc, false, t->line, t->col, "Unexpected character '%c'",
					       c >= 32 && c < 127 ? c : '?');
				return -1;
			}
			/* "?." followed by a digit is '?' then a number (a ? .5 : b) */
			if (puncts[k].tk == TK_QDOT && peekc(&lx, 2) >= '0' && peekc(&lx, 2) <= '9')
				k = sizeof(puncts) / sizeof(puncts[0]) - 1, t->kind = TK_QUESTION;
			else
				t->kind = puncts[k].tk;
			size_t pl = t->kind == TK_QUESTION ? 1 : strlen(puncts[k].p);
			for (size_t j = 0; j < pl; j++)
				adv(&lx);
		}
		if (rc < 0)
			return -1;
		if (t->kind != TK_STRING && t->kind != TK_INTERP)
			t->text = cg_str_make(src.ptr + start, lx.i - start);
		n++;
	}
}

int cg_expr_lex(struct cg_str src, uint32_t line, uint32_t col, struct cg_arena *arena,
		struct cg_expr_diagctx *dc, struct cg_expr_token **out)
{
	/* Every token takes at least one byte, so len + 1 bounds the count;
	 * that bound is lexed into on the heap and only the tokens found are
	 * kept in the arena (a token is 64 bytes: the bound alone cost a
	 * snapshot 64 bytes per byte of expression text). */
	struct cg_expr_token *tmp = calloc(src.len + 1, sizeof(*tmp));
	int nt = tmp ? lex_into(src, line, col, arena, dc, tmp) : -1;
	if (!tmp)
		cg_expr_report(dc, false, line, col, "out of memory");
	*out = nt > 0 ? cg_arena_alloc(arena, sizeof(*tmp) * (size_t)nt) : NULL;
	if (nt > 0 && !*out) {
		cg_expr_report(dc, false, line, col, "out of memory");
		nt = -1;
	}
	if (nt > 0)
		memcpy(*out, tmp, sizeof(*tmp) * (size_t)nt);
	free(tmp);
	return nt;
}

size_t cg_expr_unescape(struct cg_str s, size_t *i, char *out)
{
	struct lexer lx = { s, *i + 1, 1, 1, NULL, NULL };
	int k = lex_escape(&lx, out, NULL);
	if (k < 0)
		return 0;
	*i = lx.i;
	return (size_t)k;
}
