/* Dates, numbers and their .NET text forms (invariant culture only: APIM's
 * gateway formats with the invariant culture unless told otherwise, and a
 * gateway must not change output with the host's locale). */
#include "expr/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const month_names[] = { "January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December" };
static const char *const day_names[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday" };

bool cg_expr_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cg_expr_days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && cg_expr_is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 0001-01-01 for a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t yy = y - 1;
	int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400;
	for (int k = 1; k < m; k++)
		days += cg_expr_days_in_month(y, k);
	return days + d - 1;
}

int64_t cg_expr_dt_make(int y, int mo, int d, int h, int mi, int s)
{
	if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > cg_expr_days_in_month(y, mo) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
		return -1;
	return days_from_civil(y, mo, d) * CG_EXPR_TICKS_PER_DAY +
	       ((int64_t)h * 3600 + mi * 60 + s) * CG_EXPR_TICKS_PER_SEC;
}

void cg_expr_dt_split(int64_t ticks, struct cg_expr_dt *o)
{
	if (ticks < 0)
		ticks = 0;
	if (ticks > CG_EXPR_DT_MAX_TICKS)
		ticks = CG_EXPR_DT_MAX_TICKS;
	int64_t days = ticks / CG_EXPR_TICKS_PER_DAY;
	int64_t rem = ticks % CG_EXPR_TICKS_PER_DAY;
	o->dow = (int)((days + 1) % 7); /* 0001-01-01 was a Monday */
	/* 400-year cycles of 146097 days, as .NET's GetDatePart does */
	int64_t n400 = days / 146097;
	days -= n400 * 146097;
	int64_t n100 = days / 36524;
	if (n100 == 4)
		n100 = 3;
	days -= n100 * 36524;
	int64_t n4 = days / 1461;
	days -= n4 * 1461;
	int64_t n1 = days / 365;
	if (n1 == 4)
		n1 = 3;
	days -= n1 * 365;
	o->year = (int)(n400 * 400 + n100 * 100 + n4 * 4 + n1 + 1);
	o->doy = (int)days + 1;
	int m = 1;
	while (days >= cg_expr_days_in_month(o->year, m)) {
		days -= cg_expr_days_in_month(o->year, m);
		m++;
	}
	o->month = m;
	o->day = (int)days + 1;
	int64_t secs = rem / CG_EXPR_TICKS_PER_SEC;
	o->frac = (int)(rem % CG_EXPR_TICKS_PER_SEC);
	o->hour = (int)(secs / 3600);
	o->minute = (int)(secs / 60 % 60);
	o->second = (int)(secs % 60);
}

int64_t cg_expr_now_utc(const struct cg_expr_run *r)
{
	if (r->ctx->context && r->ctx->context->now)
		return r->ctx->context->now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return 621355968000000000LL + (int64_t)ts.tv_sec * CG_EXPR_TICKS_PER_SEC + ts.tv_nsec / 100;
}

static long local_offset_secs(int64_t utc)
{
	time_t t = (time_t)((utc - 621355968000000000LL) / CG_EXPR_TICKS_PER_SEC);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	return tm.tm_gmtoff;
}

/* The local offset changes at most a few times a year, but localtime_r
 * costs a lock and a table walk per call; DateTime.Now is on the hot path
 * of the guide's expiry check. One word caches (minute, offset) for the
 * current minute, shared lock-free across threads. */
static _Atomic uint64_t offset_cache; /* minute << 20 | (offset + 2^19); 0 = empty */

int64_t cg_expr_to_local(int64_t utc)
{
	uint64_t minute = (uint64_t)(utc / (60 * CG_EXPR_TICKS_PER_SEC));
	uint64_t c = offset_cache;
	long off;
	if (c && (c >> 20) == minute) {
		off = (long)(c & 0xfffff) - (1L << 19);
	} else {
		off = local_offset_secs(utc);
		if (off > -(1L << 19) && off < (1L << 19))
			offset_cache = (minute << 20) | (uint64_t)(off + (1L << 19));
	}
	return utc + (int64_t)off * CG_EXPR_TICKS_PER_SEC;
}

/* ---- output helper ---- */

struct out {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char b[96];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* ---- DateTime ---- */

static int fmt_datetime(int64_t ticks, uint8_t kind, struct cg_str f, struct out *o)
{
	struct cg_expr_dt d;
	const struct cg_str G = CG_STR("MM/dd/yyyy HH:mm:ss");
	if (f.len == 0)
		f = G;
	if (f.len == 1) {
		switch (f.ptr[0]) {
		case 'd': f = CG_STR("MM/dd/yyyy"); break;
		case 'D': f = CG_STR("dddd, dd MMMM yyyy"); break;
		case 'f': f = CG_STR("dddd, dd MMMM yyyy HH:mm"); break;
		case 'F': f = CG_STR("dddd, dd MMMM yyyy HH:mm:ss"); break;
		case 'g': f = CG_STR("MM/dd/yyyy HH:mm"); break;
		case 'G': f = G; break;
		case 'm': case 'M': f = CG_STR("MMMM dd"); break;
		case 'o': case 'O': f = CG_STR("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"); break;
		case 'r': case 'R': f = CG_STR("ddd, dd MMM yyyy HH':'mm':'ss 'GMT'"); break;
		case 's': f = CG_STR("yyyy'-'MM'-'dd'T'HH':'mm':'ss"); break;
		case 't': f = CG_STR("HH:mm"); break;
		case 'T': f = CG_STR("HH:mm:ss"); break;
		case 'u': f = CG_STR("yyyy'-'MM'-'dd HH':'mm':'ss'Z'"); break;
		case 'y': case 'Y': f = CG_STR("yyyy MMMM"); break;
		default: return -1;
		}
	}
	cg_expr_dt_split(ticks, &d);
	size_t i = 0;
	while (i < f.len) {
		char c = f.ptr[i];
		size_t n = 1;
		while (i + n < f.len && f.ptr[i + n] == c)
			n++;
		switch (c) {
		case 'y':
			if (n == 1)
				putf(o, "%d", d.year % 100);
			else if (n == 2)
				putf(o, "%02d", d.year % 100);
			else
				putf(o, "%0*d", (int)n, d.year);
			break;
		case 'M':
			if (n <= 2)
				putf(o, "%0*d", (int)n, d.month);
			else if (n == 3)
				putf(o, "%.3s", month_names[d.month - 1]);
			else
				putf(o, "%s", month_names[d.month - 1]);
			break;
		case 'd':
			if (n <= 2)
				putf(o, "%0*d", (int)n, d.day);
			else if (n == 3)
				putf(o, "%.3s", day_names[d.dow]);
			else
				putf(o, "%s", day_names[d.dow]);
			break;
		case 'H': putf(o, "%0*d", n > 1 ? 2 : 1, d.hour); break;
		case 'h': putf(o, "%0*d", n > 1 ? 2 : 1, d.hour % 12 ? d.hour % 12 : 12); break;
		case 'm': putf(o, "%0*d", n > 1 ? 2 : 1, d.minute); break;
		case 's': putf(o, "%0*d", n > 1 ? 2 : 1, d.second); break;
		case 't':
			put(o, d.hour < 12 ? "AM" : "PM", n > 1 ? 2 : 1);
			break;
		case 'f':
		case 'F': {
			if (n > 7)
				return -1;
			char fr[8];
			snprintf(fr, sizeof(fr), "%07d", d.frac);
			size_t k = n;
			if (c == 'F')
				while (k > 0 && fr[k - 1] == '0')
					k--;
			if (c == 'F' && k == 0 && o->len && o->p[o->len - 1] == '.')
				o->len--; /* .NET drops the separator of an empty F fraction */
			put(o, fr, k);
			break;
		}
		case 'K':
			if (kind == CG_EXPR_DT_UTC) {
				put(o, "Z", 1);
			} else if (kind == CG_EXPR_DT_LOCAL) {
				long off = local_offset_secs(ticks);
				putf(o, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
			}
			n = 1;
			break;
		case 'z': {
			long off = local_offset_secs(ticks);
			if (n == 1)
				putf(o, "%c%ld", off < 0 ? '-' : '+', labs(off) / 3600);
			else if (n == 2)
				putf(o, "%c%02ld", off < 0 ? '-' : '+', labs(off) / 3600);
			else
				putf(o, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
			break;
		}
		case '\'':
		case '"': {
			size_t j = i + 1;
			while (j < f.len && f.ptr[j] != c)
				j++;
			if (j >= f.len)
				return -1;
			put(o, f.ptr + i + 1, j - i - 1);
			n = j - i + 1;
			break;
		}
		case '\\':
			if (i + 1 >= f.len)
				return -1;
			put(o, f.ptr + i + 1, 1);
			n = 2;
			break;
		case '%':
			n = 1;
			break;
		default:
			put(o, f.ptr + i, n);
		}
		i += n;
	}
	return 0;
}

/* ---- numbers ---- */

/* .NET Core 3.0+ double.ToString(): the shortest text that round-trips,
 * in scientific form when the exponent is >= 15 or < -4 (1E-05). */
static void fmt_double_shortest(double v, struct out *o)
{
	if (isnan(v)) {
		put(o, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		putf(o, "%s", v < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (v == 0) {
		put(o, signbit(v) ? "-0" : "0", signbit(v) ? 2 : 1);
		return;
	}
	char b[40];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*e", prec - 1, v);
		if (strtod(b, NULL) == v)
			break;
	}
	/* b = [-]d.ddde[+-]xx */
	char digits[24];
	size_t nd = 0;
	const char *p = b;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	int exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (neg)
		put(o, "-", 1);
	if (exp >= 15 || exp < -4) {
		put(o, digits, 1);
		if (nd > 1) {
			put(o, ".", 1);
			put(o, digits + 1, nd - 1);
		}
		putf(o, "E%c%02d", exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	if (exp < 0) {
		put(o, "0.", 2);
		for (int k = -1; k > exp; k--)
			put(o, "0", 1);
		put(o, digits, nd);
		return;
	}
	for (int k = 0; k <= exp; k++)
		put(o, k < (int)nd ? &digits[k] : "0", 1);
	if ((int)nd > exp + 1) {
		put(o, ".", 1);
		put(o, digits + exp + 1, nd - (size_t)exp - 1);
	}
}

/* Inserts ',' every three digits of the integer part of s. */
static void put_grouped(struct out *o, const char *s)
{
	if (*s == '-') {
		put(o, "-", 1);
		s++;
	}
	size_t intlen = strcspn(s, ".");
	for (size_t k = 0; k < intlen; k++) {
		if (k && (intlen - k) % 3 == 0)
			put(o, ",", 1);
		put(o, s + k, 1);
	}
	put(o, s + intlen, strlen(s + intlen));
}

static int fmt_number(const struct cg_expr_value *v, struct cg_str f, struct out *o)
{
	bool isd = v->kind == CG_EXPR_V_DOUBLE;
	bool isdec = v->kind == CG_EXPR_V_DECIMAL; /* exact digits: cg_expr_dec_fixed */
	int64_t l = v->kind == CG_EXPR_V_INT ? v->u.i : v->kind == CG_EXPR_V_LONG ? v->u.l : 0;
	double d = isd ? v->u.d : (double)l;
	char spec = f.len ? f.ptr[0] : 'G';
	int prec = -1;
	bool letter = (spec >= 'A' && spec <= 'Z') || (spec >= 'a' && spec <= 'z');
	if (f.len > 1 || (f.len == 1 && !letter)) {
		uint64_t pv = 0;
		if (!letter || !cg_str_to_u64(cg_str_sub(f, 1, f.len), 99, &pv)) {
			/* custom: only runs of '0' (zero padding) and "0.00" */
			size_t k = 0, z = 0, dec = 0;
			bool dot = false;
			for (; k < f.len; k++) {
				if (f.ptr[k] == '0')
					dot ? dec++ : z++;
				else if (f.ptr[k] == '.' && !dot)
					dot = true;
				else
					return -1;
			}
			char b[200];
			if (isdec) {
				/* zero-pad after the sign to the pattern's width */
				cg_expr_dec_fixed(v, 0, (int)dec, b, sizeof(b));
				size_t width = z + (dec ? dec + 1 : 0), neg = b[0] == '-', bl = strlen(b);
				if (width > 100)
					return -1;
				if (bl - neg < width) {
					size_t pad = width - (bl - neg);
					memmove(b + neg + pad, b + neg, bl - neg + 1);
					memset(b + neg, '0', pad);
				}
			} else if (isd || dot)
				snprintf(b, sizeof(b), "%0*.*f", (int)(z + (dec ? dec + 1 : 0) + (d < 0)), (int)dec, d);
			else
				snprintf(b, sizeof(b), "%0*lld", (int)z + (l < 0), (long long)l);
			putf(o, "%s", b);
			return 0;
		}
		prec = (int)pv;
	}
	char b[400];
	switch (spec) {
	case 'G':
	case 'g':
	case 'R':
	case 'r':
		if (isdec) {
			if (spec == 'R' || spec == 'r')
				return -1; /* no round-trip format for decimal */
			if (prec >= 0)
				cg_expr_dec_general(v, prec, spec == 'G', b, sizeof(b));
			else
				cg_expr_dec_text(v, b, sizeof(b));
			putf(o, "%s", b);
		} else if (isd) {
			fmt_double_shortest(d, o);
		} else {
			putf(o, "%lld", (long long)l);
		}
		return 0;
	case 'D':
	case 'd':
		if (isd || isdec)
			return -1;
		if (prec < 0)
			prec = 0;
		putf(o, "%s%0*llu", l < 0 ? "-" : "", prec, (unsigned long long)(l < 0 ? 0ull - (uint64_t)l : (uint64_t)l));
		return 0;
	case 'X':
	case 'x': {
		if (isd || isdec)
			return -1;
		uint64_t u = v->kind == CG_EXPR_V_INT ? (uint32_t)v->u.i : (uint64_t)l;
		putf(o, spec == 'X' ? "%0*llX" : "%0*llx", prec < 0 ? 0 : prec, (unsigned long long)u);
		return 0;
	}
	case 'F':
	case 'f':
	case 'N':
	case 'n':
		if (prec < 0)
			prec = 2;
		if (isdec) {
			cg_expr_dec_fixed(v, 0, prec, b, sizeof(b));
		} else {
			if (isnan(d) || isinf(d)) {
				fmt_double_shortest(d, o);
				return 0;
			}
			if (d >= 1e300 || d <= -1e300)
				return -1;
			snprintf(b, sizeof(b), "%.*f", prec, d);
		}
		if (spec == 'F' || spec == 'f')
			putf(o, "%s", b);
		else
			put_grouped(o, b);
		return 0;
	case 'P':
	case 'p':
		if (prec < 0)
			prec = 2;
		if (isdec)
			cg_expr_dec_fixed(v, 2, prec, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "%.*f", prec, d * 100);
		put_grouped(o, b);
		put(o, " %", 2);
		return 0;
	default:
		return -1;
	}
}

static void fmt_timespan(int64_t t, struct out *o)
{
	uint64_t u = t < 0 ? 0ull - (uint64_t)t : (uint64_t)t;
	if (t < 0)
		put(o, "-", 1);
	uint64_t days = u / (uint64_t)CG_EXPR_TICKS_PER_DAY;
	uint64_t rem = u % (uint64_t)CG_EXPR_TICKS_PER_DAY;
	uint64_t secs = rem / (uint64_t)CG_EXPR_TICKS_PER_SEC;
	uint64_t frac = rem % (uint64_t)CG_EXPR_TICKS_PER_SEC;
	if (days)
		putf(o, "%llu.", (unsigned long long)days);
	putf(o, "%02llu:%02llu:%02llu", (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
	     (unsigned long long)(secs % 60));
	if (frac)
		putf(o, ".%07llu", (unsigned long long)frac);
}

int cg_expr_format_scalar(const struct cg_expr_value *v, struct cg_str f, char *buf, size_t len)
{
	struct out o = { buf, 0, len, false };
	int rc = 0;
	switch (v->kind) {
	case CG_EXPR_V_NULL:
		break;
	case CG_EXPR_V_BOOL:
		putf(&o, "%s", v->u.b ? "True" : "False");
		break;
	case CG_EXPR_V_CHAR: {
		uint32_t c = v->u.c;
		char b[4];
		size_t n;
		if (c < 0x80) {
			b[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = (char)(0xc0 | (c >> 6));
			b[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else {
			b[0] = (char)(0xe0 | (c >> 12));
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		}
		put(&o, b, n);
		break;
	}
	case CG_EXPR_V_INT:
	case CG_EXPR_V_LONG:
	case CG_EXPR_V_DOUBLE:
	case CG_EXPR_V_DECIMAL:
		rc = fmt_number(v, f, &o);
		break;
	case CG_EXPR_V_DATETIME:
		rc = fmt_datetime(v->u.ticks, v->dtkind, f, &o);
		break;
	case CG_EXPR_V_TIMESPAN:
		if (f.len && !cg_str_eq_lit(f, "c") && !cg_str_eq_lit(f, "g") && !cg_str_eq_lit(f, "G"))
			return -1;
		fmt_timespan(v->u.ticks, &o);
		break;
	case CG_EXPR_V_GUID: {
		const uint8_t *g = v->u.guid;
		char d[40];
		snprintf(d, sizeof(d),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13],
			 g[14], g[15]);
		char fc = f.len ? f.ptr[0] : 'D';
		if (f.len > 1)
			return -1;
		if (fc == 'D' || fc == 'd') {
			putf(&o, "%s", d);
		} else if (fc == 'N' || fc == 'n') {
			for (const char *p = d; *p; p++)
				if (*p != '-')
					put(&o, p, 1);
		} else if (fc == 'B' || fc == 'b') {
			putf(&o, "{%s}", d);
		} else if (fc == 'P' || fc == 'p') {
			putf(&o, "(%s)", d);
		} else {
			return -1;
		}
		break;
	}
	default:
		return -1;
	}
	if (rc < 0 || o.over)
		return -1;
	return (int)o.len;
}

/* ---- parsing ---- */

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static struct cg_str trim(struct cg_str s)
{
	while (s.len && ws(s.ptr[0]))
		s.ptr++, s.len--;
	while (s.len && ws(s.ptr[s.len - 1]))
		s.len--;
	return s;
}

int cg_expr_parse_long(struct cg_str s, int64_t min, int64_t max, int64_t *out)
{
	s = trim(s);
	bool neg = false;
	if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
		neg = s.ptr[0] == '-';
		s = cg_str_sub(s, 1, s.len);
	}
	if (!s.len)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (uint64_t)(s.ptr[i] - '0');
	}
	uint64_t lim = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
	if (v > lim)
		return -2; /* OverflowException */
	int64_t r = neg ? (int64_t)(0ull - v) : (int64_t)v;
	*out = r;
	return 0;
}

int cg_expr_parse_double(struct cg_str s, double *out)
{
	s = trim(s);
	if (!s.len || s.len > 64)
		return -1;
	char b[72];
	memcpy(b, s.ptr, s.len);
	b[s.len] = '\0';
	if (strcmp(b, "NaN") == 0) {
		*out = NAN;
		return 0;
	}
	if (strcmp(b, "Infinity") == 0 || strcmp(b, "-Infinity") == 0) {
		*out = b[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	/* .NET Float|AllowThousands: digits, one '.', exponent; no hex, no "inf" */
	for (size_t i = 0; i < s.len; i++) {
		char c = b[i];
		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' || c == ','))
			return -1;
	}
	char clean[72];
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		if (b[i] != ',')
			clean[n++] = b[i];
	clean[n] = '\0';
	char *end;
	double d = strtod(clean, &end);
	if (*end || end == clean)
		return -1;
	*out = d;
	return 0;
}

static int num(struct cg_str s, size_t *i, int ndig, int *out)
{
	int v = 0, k = 0;
	while (*i < s.len && k < ndig && s.ptr[*i] >= '0' && s.ptr[*i] <= '9') {
		v = v * 10 + (s.ptr[*i] - '0');
		(*i)++;
		k++;
	}
	*out = v;
	return k;
}

/* RFC 1123 ("Sun, 22 Nov 2026 10:00:00 GMT"), as HTTP dates: UTC, which
 * .NET's Parse turns into local time. */
static int parse_rfc1123(struct cg_str s, int64_t *ticks, uint8_t *kind)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (s.len < 29 || s.ptr[3] != ',' || s.ptr[4] != ' ')
		return -1;
	size_t i = 5;
	int d, y, h, mi, se, mo = -1;
	if (num(s, &i, 2, &d) < 1 || i + 5 > s.len || s.ptr[i] != ' ')
		return -1;
	for (int k = 0; k < 12; k++)
		if (memcmp(s.ptr + i + 1, mon[k], 3) == 0)
			mo = k + 1;
	i += 4;
	if (mo < 0 || i >= s.len || s.ptr[i++] != ' ' || num(s, &i, 4, &y) != 4 || i >= s.len || s.ptr[i++] != ' ' ||
	    num(s, &i, 2, &h) != 2 || i >= s.len || s.ptr[i++] != ':' || num(s, &i, 2, &mi) != 2 || i >= s.len ||
	    s.ptr[i++] != ':' || num(s, &i, 2, &se) != 2)
		return -1;
	struct cg_str rest = trim(cg_str_sub(s, i, s.len - i));
	if (!cg_str_eq_lit(rest, "GMT") && !cg_str_eq_lit(rest, "UTC") && !cg_str_eq_lit(rest, "Z"))
		return -1;
	int64_t t = cg_expr_dt_make(y, mo, d, h, mi, se);
	if (t < 0)
		return -1;
	*ticks = cg_expr_to_local(t);
	*kind = CG_EXPR_DT_LOCAL;
	return 0;
}

int cg_expr_dt_parse(struct cg_str s, int64_t *ticks, uint8_t *kind)
{
	s = trim(s);
	if (parse_rfc1123(s, ticks, kind) == 0)
		return 0;
	size_t i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, fd = 0;
	*kind = CG_EXPR_DT_UNSPECIFIED;
	int k = num(s, &i, 4, &y);
	if (k == 4 && i < s.len && s.ptr[i] == '-') {
		/* ISO 8601: yyyy-MM-dd[THH:mm[:ss[.f+]]][Z|+hh:mm] */
		i++;
		if (num(s, &i, 2, &mo) < 1 || i >= s.len || s.ptr[i++] != '-' || num(s, &i, 2, &d) < 1)
			return -1;
	} else if (k >= 1 && k <= 2 && i < s.len && s.ptr[i] == '/') {
		/* invariant: MM/dd/yyyy */
		mo = y;
		i++;
		if (num(s, &i, 2, &d) < 1 || i >= s.len || s.ptr[i++] != '/' || num(s, &i, 4, &y) != 4)
			return -1;
	} else {
		return -1;
	}
	if (i < s.len && (s.ptr[i] == 'T' || s.ptr[i] == ' ')) {
		i++;
		if (num(s, &i, 2, &h) < 1 || i >= s.len || s.ptr[i++] != ':' || num(s, &i, 2, &mi) < 1)
			return -1;
		if (i < s.len && s.ptr[i] == ':') {
			i++;
			if (num(s, &i, 2, &sec) < 1)
				return -1;
			if (i < s.len && s.ptr[i] == '.') {
				i++;
				while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
					if (fd < 7) {
						frac = frac * 10 + (s.ptr[i] - '0');
						fd++;
					}
					i++;
				}
				for (; fd < 7; fd++)
					frac *= 10;
			}
		}
	}
	int64_t off = 0;
	bool has_off = false;
	if (i < s.len && s.ptr[i] == 'Z') {
		*kind = CG_EXPR_DT_UTC;
		i++;
	} else if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) {
		int sign = s.ptr[i++] == '-' ? -1 : 1, oh, om = 0;
		if (num(s, &i, 2, &oh) != 2)
			return -1;
		if (i < s.len && s.ptr[i] == ':')
			i++;
		num(s, &i, 2, &om);
		off = sign * ((int64_t)oh * 3600 + om * 60) * CG_EXPR_TICKS_PER_SEC;
		has_off = true;
	}
	if (i != s.len)
		return -1;
	int64_t t = cg_expr_dt_make(y, mo, d, h, mi, sec);
	if (t < 0)
		return -1;
	t += frac;
	if (*kind == CG_EXPR_DT_UTC || has_off) {
		/* .NET's Parse converts a zoned time to local time (Kind=Local) */
		t = cg_expr_to_local(t - off);
		*kind = CG_EXPR_DT_LOCAL;
	}
	if (t < 0 || t > CG_EXPR_DT_MAX_TICKS)
		return -1;
	*ticks = t;
	return 0;
}

/* ---- culture comparison ---- */

/* Primary weight of an ASCII byte in an approximation of the ICU root
 * collation .NET uses for culture comparisons: white space < punctuation
 * and symbols (in ASCII order) < digits < letters (case-insensitive).
 * Bytes >= 0x80 sort after ASCII, by value. */
static int primary(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return 0x300 + (c - 'a') * 2;
	if (c >= 'A' && c <= 'Z')
		return 0x300 + (c - 'A') * 2;
	if (c >= '0' && c <= '9')
		return 0x200 + (c - '0');
	if (c == ' ' || (c >= 9 && c <= 13))
		return 0x40 + c;
	if (c < 0x80)
		return 0x100 + c;
	return 0x400 + c;
}

int cg_expr_culture_cmp(struct cg_str a, struct cg_str b, bool ignore_case)
{
	size_t n = a.len < b.len ? a.len : b.len;
	for (size_t i = 0; i < n; i++) {
		int pa = primary((unsigned char)a.ptr[i]), pb = primary((unsigned char)b.ptr[i]);
		if (pa != pb)
			return pa < pb ? -1 : 1;
	}
	if (a.len != b.len)
		return a.len < b.len ? -1 : 1;
	if (ignore_case)
		return 0;
	/* tertiary: at the first case difference, lower case sorts first */
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
		if (x != y) {
			bool xl = x >= 'a' && x <= 'z';
			return xl ? -1 : 1;
		}
	}
	return 0;
}
