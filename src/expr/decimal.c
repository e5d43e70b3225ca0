/* System.Decimal: a 96-bit unsigned coefficient, a sign and a scale 0..28
 * (value = coefficient / 10^scale), with .NET's rules: results keep their
 * scale (1.50m + 1m is 2.50m), results that do not fit are rounded half to
 * even to fewer decimals, and overflow when no decimals are left.
 *
 * Intermediate results (aligned sums, products) can exceed 128 bits; they
 * are held in a small fixed-size big number of 32-bit limbs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/internal.h"

#define LIMBS 8 /* 256 bits: a 96-bit coefficient times 10^28 times 10 fits */
#define DEC_MAX ((((unsigned __int128)1) << 96) - 1)

struct big {
	uint32_t w[LIMBS]; /* little endian */
};

static void big_set(struct big *b, unsigned __int128 v)
{
	for (int k = 0; k < LIMBS; k++) {
		b->w[k] = (uint32_t)v;
		v >>= 32;
	}
}

static bool big_fits96(const struct big *b)
{
	for (int k = 3; k < LIMBS; k++)
		if (b->w[k])
			return false;
	return true;
}

static unsigned __int128 big_low128(const struct big *b)
{
	unsigned __int128 v = 0;
	for (int k = 3; k >= 0; k--)
		v = (v << 32) | b->w[k];
	return v;
}

static bool big_zero(const struct big *b)
{
	for (int k = 0; k < LIMBS; k++)
		if (b->w[k])
			return false;
	return true;
}

/* b = b * m + add; returns false on overflow of 256 bits. */
static bool big_muladd(struct big *b, uint32_t m, uint32_t add)
{
	uint64_t carry = add;
	for (int k = 0; k < LIMBS; k++) {
		uint64_t x = (uint64_t)b->w[k] * m + carry;
		b->w[k] = (uint32_t)x;
		carry = x >> 32;
	}
	return carry == 0;
}

static uint32_t big_divsmall(struct big *b, uint32_t d)
{
	uint64_t rem = 0;
	for (int k = LIMBS - 1; k >= 0; k--) {
		uint64_t x = (rem << 32) | b->w[k];
		b->w[k] = (uint32_t)(x / d);
		rem = x % d;
	}
	return (uint32_t)rem;
}

static int big_cmp(const struct big *a, const struct big *b)
{
	for (int k = LIMBS - 1; k >= 0; k--)
		if (a->w[k] != b->w[k])
			return a->w[k] < b->w[k] ? -1 : 1;
	return 0;
}

static void big_add(struct big *a, const struct big *b)
{
	uint64_t carry = 0;
	for (int k = 0; k < LIMBS; k++) {
		uint64_t x = (uint64_t)a->w[k] + b->w[k] + carry;
		a->w[k] = (uint32_t)x;
		carry = x >> 32;
	}
}

/* a -= b, a >= b */
static void big_sub(struct big *a, const struct big *b)
{
	int64_t borrow = 0;
	for (int k = 0; k < LIMBS; k++) {
		int64_t x = (int64_t)a->w[k] - b->w[k] - borrow;
		borrow = x < 0;
		a->w[k] = (uint32_t)(x + (borrow ? ((int64_t)1 << 32) : 0));
	}
}

static bool big_pow10(struct big *b, int n)
{
	for (int k = 0; k < n; k++)
		if (!big_muladd(b, 10, 0))
			return false;
	return true;
}

static void big_mul(struct big *out, unsigned __int128 x, unsigned __int128 y)
{
	uint32_t a[4], b[4];
	for (int k = 0; k < 4; k++) {
		a[k] = (uint32_t)(x >> (32 * k));
		b[k] = (uint32_t)(y >> (32 * k));
	}
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 4; i++) {
		uint64_t carry = 0;
		for (int j = 0; j < 4; j++) {
			uint64_t t = (uint64_t)a[i] * b[j] + out->w[i + j] + carry;
			out->w[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		for (int k = i + 4; carry && k < LIMBS; k++) {
			uint64_t t = (uint64_t)out->w[k] + carry;
			out->w[k] = (uint32_t)t;
			carry = t >> 32;
		}
	}
}

struct cg_expr_value cg_expr_dec_make(unsigned __int128 c, int scale, bool neg)
{
	struct cg_expr_value v = { .kind = CG_EXPR_V_DECIMAL };
	v.u.dec.lo = (uint64_t)c;
	v.u.dec.hi = (uint32_t)(c >> 64);
	v.u.dec.scale = (uint8_t)scale;
	v.u.dec.neg = c != 0 && neg; /* no negative zero */
	return v;
}

unsigned __int128 cg_expr_dec_coef(const struct cg_expr_value *v)
{
	return ((unsigned __int128)v->u.dec.hi << 64) | v->u.dec.lo;
}

/* Rounds b (at scale) half to even until it fits 96 bits with a scale of
 * at most 28. -1 when it cannot (overflow). */
static int normalize(struct big *b, int scale, bool neg, struct cg_expr_value *out)
{
	while (scale > 28 || !big_fits96(b)) {
		if (scale == 0)
			return -1;
		bool sticky = false;
		uint32_t rd = 0;
		/* drop as many digits as needed, remembering the last and the rest */
		while (scale > 28 || !big_fits96(b)) {
			if (scale == 0)
				return -1;
			sticky |= rd != 0;
			rd = big_divsmall(b, 10);
			scale--;
		}
		if (rd > 5 || (rd == 5 && (sticky || (b->w[0] & 1))))
			big_muladd(b, 1, 1);
	}
	*out = cg_expr_dec_make(big_low128(b), scale, neg);
	return 0;
}

void cg_expr_dec_from_long(int64_t l, struct cg_expr_value *out)
{
	uint64_t m = l < 0 ? 0ull - (uint64_t)l : (uint64_t)l;
	*out = cg_expr_dec_make(m, 0, l < 0);
}

int cg_expr_dec_parse(struct cg_str s, bool literal, struct cg_expr_value *out)
{
	size_t i = 0, n = s.len;
	const char *p = s.ptr;
	bool neg = false, any = false, dot = false;
	if (!literal) {
		while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
			i++;
		while (n > i && (p[n - 1] == ' ' || (p[n - 1] >= '\t' && p[n - 1] <= '\r')))
			n--;
		if (i < n && (p[i] == '-' || p[i] == '+')) {
			neg = p[i] == '-';
			i++;
		} else if (n > i && (p[n - 1] == '-' || p[n - 1] == '+')) {
			/* NumberStyles.Number allows a trailing sign */
			neg = p[n - 1] == '-';
			n--;
			while (n > i && (p[n - 1] == ' ' || (p[n - 1] >= '\t' && p[n - 1] <= '\r')))
				n--;
		}
	}
	struct big b;
	big_set(&b, 0);
	int scale = 0, sig = 0, extra = 0;
	bool sticky = false;
	for (; i < n; i++) {
		char c = p[i];
		if (c >= '0' && c <= '9') {
			any = true;
			if (sig < 60) {
				big_muladd(&b, 10, (uint32_t)(c - '0'));
				if (sig || c != '0')
					sig++;
				if (dot)
					scale++;
			} else if (!dot) {
				extra++; /* integer digits beyond what we hold: a power of ten */
				sticky |= c != '0';
			} else {
				sticky |= c != '0';
			}
		} else if (c == '.' && !dot) {
			dot = true;
		} else if (c == ',' && !dot && !literal && any) {
			continue;
		} else if ((c == 'e' || c == 'E') && literal && any) {
			break;
		} else {
			return -1;
		}
	}
	if (!any)
		return -1;
	int exp = 0;
	if (i < n) { /* literal exponent */
		i++;
		bool eneg = false;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			eneg = p[i++] == '-';
		if (i >= n)
			return -1;
		for (; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			if (exp < 1000)
				exp = exp * 10 + (p[i] - '0');
		}
		if (eneg)
			exp = -exp;
	}
	if (sticky && !extra) {
		/* fraction digits beyond those held: a trailing 1 keeps a tie
		 * from looking exact when the value is rounded below */
		big_muladd(&b, 10, 1);
		scale++;
		sig++;
	}
	scale -= exp + extra;
	if (scale < 0) {
		if (big_zero(&b))
			scale = 0;
		else if (scale < -40 || !big_pow10(&b, -scale))
			return -2;
		else
			scale = 0;
	}
	if (scale - sig > 29) { /* below 10^-29: rounds to zero */
		big_set(&b, 0);
		scale = 28;
	}
	return normalize(&b, scale, neg, out) < 0 ? -2 : 0;
}

/* Aligns a and b to the larger scale. */
static int align(const struct cg_expr_value *a, const struct cg_expr_value *b, struct big *x, struct big *y)
{
	int sa = a->u.dec.scale, sb = b->u.dec.scale;
	big_set(x, cg_expr_dec_coef(a));
	big_set(y, cg_expr_dec_coef(b));
	if (sa < sb)
		big_pow10(x, sb - sa);
	else
		big_pow10(y, sa - sb);
	return sa > sb ? sa : sb;
}

int cg_expr_dec_cmp(const struct cg_expr_value *a, const struct cg_expr_value *b)
{
	bool za = cg_expr_dec_coef(a) == 0, zb = cg_expr_dec_coef(b) == 0;
	int sgna = za ? 0 : a->u.dec.neg ? -1 : 1, sgnb = zb ? 0 : b->u.dec.neg ? -1 : 1;
	if (sgna != sgnb)
		return sgna < sgnb ? -1 : 1;
	if (!sgna)
		return 0;
	struct big x, y;
	align(a, b, &x, &y);
	int c = big_cmp(&x, &y);
	return sgna < 0 ? -c : c;
}

static int addsub(const struct cg_expr_value *a, const struct cg_expr_value *b, bool sub, struct cg_expr_value *out)
{
	struct big x, y;
	int scale = align(a, b, &x, &y);
	bool na = a->u.dec.neg, nb = b->u.dec.neg != sub;
	bool neg = na;
	if (na == nb) {
		big_add(&x, &y);
	} else if (big_cmp(&x, &y) >= 0) {
		big_sub(&x, &y);
	} else {
		big_sub(&y, &x);
		x = y;
		neg = nb;
	}
	return normalize(&x, scale, neg, out);
}

static int divide(const struct cg_expr_value *a, const struct cg_expr_value *b, struct cg_expr_value *out)
{
	unsigned __int128 n = cg_expr_dec_coef(a), d = cg_expr_dec_coef(b);
	bool neg = a->u.dec.neg != b->u.dec.neg;
	int scale = (int)a->u.dec.scale - (int)b->u.dec.scale;
	unsigned __int128 q = n / d, rem = n % d;
	while (scale < 0) {
		q = q * 10 + rem * 10 / d;
		rem = rem * 10 % d;
		if (q > DEC_MAX)
			return -1;
		scale++;
	}
	while (rem && scale < 28) {
		unsigned __int128 nq = q * 10 + rem * 10 / d;
		if (nq > DEC_MAX)
			break;
		q = nq;
		rem = rem * 10 % d;
		scale++;
	}
	if (rem && (rem * 2 > d || (rem * 2 == d && (q & 1))))
		q++;
	struct big x;
	big_set(&x, q);
	return normalize(&x, scale, neg, out);
}

/* a % b: the sign of a, the larger scale. */
static int modulo(const struct cg_expr_value *a, const struct cg_expr_value *b, struct cg_expr_value *out)
{
	struct big x, y, r;
	int scale = align(a, b, &x, &y);
	big_set(&r, 0);
	for (int bit = LIMBS * 32 - 1; bit >= 0; bit--) {
		big_muladd(&r, 2, (x.w[bit / 32] >> (bit % 32)) & 1);
		if (big_cmp(&r, &y) >= 0)
			big_sub(&r, &y);
	}
	return normalize(&r, scale, a->u.dec.neg, out);
}

int cg_expr_dec_arith(int op, const struct cg_expr_value *a, const struct cg_expr_value *b, struct cg_expr_value *out)
{
	if ((op == TK_SLASH || op == TK_PERCENT) && cg_expr_dec_coef(b) == 0)
		return -2;
	switch (op) {
	case TK_PLUS: return addsub(a, b, false, out);
	case TK_MINUS: return addsub(a, b, true, out);
	case TK_STAR: {
		struct big x;
		big_mul(&x, cg_expr_dec_coef(a), cg_expr_dec_coef(b));
		return normalize(&x, a->u.dec.scale + b->u.dec.scale, a->u.dec.neg != b->u.dec.neg, out);
	}
	case TK_SLASH: return divide(a, b, out);
	case TK_PERCENT: return modulo(a, b, out);
	}
	return -1;
}

/* Plain digits of the coefficient (at least one), most significant first. */
static int coef_digits(unsigned __int128 c, char *buf)
{
	char t[48];
	int n = 0;
	do {
		t[n++] = (char)('0' + (int)(c % 10));
		c /= 10;
	} while (c);
	for (int k = 0; k < n; k++)
		buf[k] = t[n - 1 - k];
	buf[n] = '\0';
	return n;
}

int cg_expr_dec_fixed(const struct cg_expr_value *v, int shift, int prec, char *buf, size_t len)
{
	/* value * 10^shift with prec decimals (prec < 0: the value's own
	 * scale), rounded half away from zero as .NET's number formatting */
	char d[256];
	int s = v->u.dec.scale - shift;
	int n = coef_digits(cg_expr_dec_coef(v), d);
	if (s < 0) {
		for (; s < 0; s++)
			d[n++] = '0';
	}
	if (n < s + 1) { /* leading zeros so the integer part has a digit */
		int pad = s + 1 - n;
		memmove(d + pad, d, (size_t)n);
		memset(d, '0', (size_t)pad);
		n += pad;
	}
	if (prec < 0)
		prec = s;
	if (prec > 99)
		prec = 99;
	if (prec < s) {
		int keep = n - s + prec;
		bool up = d[keep] >= '5';
		n = keep;
		if (up) {
			int k = n - 1;
			while (k >= 0 && d[k] == '9')
				d[k--] = '0';
			if (k >= 0) {
				d[k]++;
			} else {
				memmove(d + 1, d, (size_t)n);
				d[0] = '1';
				n++;
			}
		}
	} else {
		for (; s < prec; s++)
			d[n++] = '0';
	}
	char o[300];
	int m = 0;
	bool zero = true; /* .NET formats a decimal rounded to zero without '-' */
	for (int k = 0; k < n; k++)
		zero &= d[k] == '0';
	if (v->u.dec.neg && !zero)
		o[m++] = '-';
	memcpy(o + m, d, (size_t)(n - prec));
	m += n - prec;
	if (prec) {
		o[m++] = '.';
		memcpy(o + m, d + n - prec, (size_t)prec);
		m += prec;
	}
	o[m] = '\0';
	return snprintf(buf, len, "%s", o);
}

int cg_expr_dec_general(const struct cg_expr_value *v, int prec, bool upper, char *buf, size_t len)
{
	/* .NET's "G<n>": at most prec significant digits (0: all), rounded
	 * half away from zero, trailing zeros dropped; E notation when the
	 * exponent is >= prec or below -5 */
	char d[48];
	unsigned __int128 c = cg_expr_dec_coef(v);
	int n = c ? coef_digits(c, d) : 0;
	int pos = n - v->u.dec.scale; /* digits before the point */
	if (prec <= 0)
		prec = n;
	if (n > prec) {
		bool up = d[prec] >= '5';
		n = prec;
		if (up) {
			while (n > 0 && d[n - 1] == '9')
				n--;
			if (n > 0) {
				d[n - 1]++;
			} else {
				d[0] = '1';
				n = 1;
				pos++;
			}
		}
	}
	while (n > 0 && d[n - 1] == '0')
		n--;
	if (n == 0)
		return snprintf(buf, len, "0");
	char o[120];
	int m = 0, k = 0;
	if (v->u.dec.neg)
		o[m++] = '-';
	bool sci = pos > prec || pos < -3;
	int dp = sci ? 1 : pos;
	if (dp > 0) {
		for (; dp > 0; dp--)
			o[m++] = k < n ? d[k++] : '0';
	} else {
		o[m++] = '0';
	}
	if (k < n || dp < 0) {
		o[m++] = '.';
		for (; dp < 0; dp++)
			o[m++] = '0';
		while (k < n)
			o[m++] = d[k++];
	}
	o[m] = '\0';
	if (sci)
		return snprintf(buf, len, "%s%c%c%02d", o, upper ? 'E' : 'e', pos - 1 < 0 ? '-' : '+',
				pos - 1 < 0 ? 1 - pos : pos - 1);
	return snprintf(buf, len, "%s", o);
}

int cg_expr_dec_text(const struct cg_expr_value *v, char *buf, size_t len)
{
	return cg_expr_dec_fixed(v, 0, -1, buf, len);
}

int cg_expr_dec_from_double(double d, struct cg_expr_value *out)
{
	if (d != d || d >= 7.9228162514264338e28 || d <= -7.9228162514264338e28)
		return -1;
	bool neg = d < 0;
	if (neg)
		d = -d;
	if (d < 1e-29) {
		*out = cg_expr_dec_make(0, 0, false);
		return 0;
	}
	/* .NET keeps 15 significant digits, then drops trailing zeros */
	char b[40];
	snprintf(b, sizeof(b), "%.14e", d);
	unsigned __int128 m = 0;
	char *e = strchr(b, 'e');
	for (char *p = b; p < e; p++)
		if (*p >= '0' && *p <= '9')
			m = m * 10 + (unsigned)(*p - '0');
	int exp = atoi(e + 1);
	int scale = 14 - exp;
	struct big x;
	big_set(&x, m);
	if (scale < 0) {
		big_pow10(&x, -scale);
		scale = 0;
	}
	if (normalize(&x, scale, neg, out) < 0)
		return -1;
	unsigned __int128 c = cg_expr_dec_coef(out);
	scale = out->u.dec.scale;
	while (scale > 0 && c % 10 == 0) {
		c /= 10;
		scale--;
	}
	*out = cg_expr_dec_make(c, scale, neg);
	return 0;
}

double cg_expr_dec_to_double(const struct cg_expr_value *v)
{
	char b[80];
	cg_expr_dec_text(v, b, sizeof(b));
	return strtod(b, NULL);
}

/* Integer part (truncated toward zero). */
static unsigned __int128 int_part(const struct cg_expr_value *v, unsigned __int128 *frac_den,
				  unsigned __int128 *frac)
{
	unsigned __int128 c = cg_expr_dec_coef(v), p = 1;
	for (int k = 0; k < v->u.dec.scale; k++)
		p *= 10;
	if (frac_den)
		*frac_den = p;
	if (frac)
		*frac = c % p;
	return c / p;
}

int cg_expr_dec_to_long(const struct cg_expr_value *v, int64_t min, int64_t max, int64_t *out)
{
	unsigned __int128 ip = int_part(v, NULL, NULL);
	if (v->u.dec.neg) {
		if (ip > (unsigned __int128)(0ull - (uint64_t)min))
			return -1;
		*out = (int64_t)(0ull - (uint64_t)ip);
	} else {
		if (ip > (unsigned __int128)max)
			return -1;
		*out = (int64_t)ip;
	}
	return 0;
}

int cg_expr_dec_round(const struct cg_expr_value *v, int digits, int mode, struct cg_expr_value *out)
{
	int scale = v->u.dec.scale;
	if (scale <= digits) {
		*out = *v;
		return 0;
	}
	unsigned __int128 c = cg_expr_dec_coef(v), p = 1;
	for (int k = digits; k < scale; k++)
		p *= 10;
	unsigned __int128 q = c / p, rem = c % p;
	bool neg = v->u.dec.neg;
	bool up = false;
	if (rem) {
		switch (mode) {
		case CG_EXPR_DEC_EVEN: up = rem * 2 > p || (rem * 2 == p && (q & 1)); break;
		case CG_EXPR_DEC_FLOOR: up = neg; break;
		case CG_EXPR_DEC_CEIL: up = !neg; break;
		default: break;
		}
	}
	if (up)
		q++;
	*out = cg_expr_dec_make(q, digits, neg);
	return 0;
}
