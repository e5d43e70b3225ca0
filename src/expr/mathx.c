/* Exact double helpers: rounding and remainder with .NET's rules, written
 * out so their tie and sign handling is visible here. Math.Pow, Sqrt, Log
 * ... call libm directly (members.c). */
#include "expr/internal.h"

#include <math.h>

/* 2^52: at or above it every double is an integer. */
#define TWO52 4503599627370496.0

double cg_expr_trunc(double x)
{
	if (isnan(x) || isinf(x) || x >= TWO52 || x <= -TWO52)
		return x;
	double t = (double)(int64_t)x;
	return t == 0 && signbit(x) ? -0.0 : t;
}

double cg_expr_floor(double x)
{
	double t = cg_expr_trunc(x);
	return t > x ? t - 1 : t;
}

double cg_expr_ceil(double x)
{
	double t = cg_expr_trunc(x);
	return t < x ? t + 1 : t;
}

/* Round half to even (MidpointRounding.ToEven, .NET's default). */
double cg_expr_rint(double x)
{
	if (isnan(x) || isinf(x) || x >= TWO52 || x <= -TWO52)
		return x;
	double f = cg_expr_floor(x);
	double diff = x - f; /* exact: f and x are within 1 of each other */
	if (diff > 0.5)
		return f + 1;
	if (diff < 0.5)
		return f;
	/* a tie: pick the even neighbour */
	return cg_expr_fmod(f, 2) == 0 ? f : f + 1;
}

/* Round half away from zero (C's round(), "0" custom format). */
double cg_expr_round_away(double x)
{
	if (isnan(x) || isinf(x) || x >= TWO52 || x <= -TWO52)
		return x;
	double a = x < 0 ? -x : x;
	double f = cg_expr_floor(a);
	double r = a - f >= 0.5 ? f + 1 : f;
	return x < 0 ? -r : r;
}

/* IEEE remainder with the sign of x, like C's fmod and .NET's %. Exact:
 * each subtraction is of a power-of-two multiple t of |y| with t <= r < 2t,
 * which Sterbenz's lemma makes exact. */
double cg_expr_fmod(double x, double y)
{
	if (isnan(x) || isnan(y) || isinf(x) || y == 0)
		return NAN;
	if (isinf(y))
		return x;
	double r = x < 0 ? -x : x, ay = y < 0 ? -y : y;
	while (r >= ay) {
		double t = ay;
		while (t <= r / 2)
			t *= 2;
		r -= t;
	}
	return x < 0 ? -r : r;
}
