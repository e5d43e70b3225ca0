/* Shared internals of src/expr: tokens, AST, member tables, run state.
 * Not for use outside this directory. */
#ifndef CG_EXPR_INTERNAL_H
#define CG_EXPR_INTERNAL_H

#include <stdarg.h>

#include "expr/expr.h"

/* ---- tokens (lex.c) ---- */

enum cg_expr_tk {
	TK_EOF = 0, TK_ERROR, TK_IDENT, TK_INT, TK_REAL, TK_CHAR, TK_STRING, TK_INTERP,
	/* keywords */
	TK_TRUE, TK_FALSE, TK_NULL, TK_NEW, TK_IS, TK_AS, TK_VAR, TK_IF, TK_ELSE,
	TK_RETURN, TK_FOREACH, TK_IN, TK_FOR, TK_WHILE, TK_DO, TK_SWITCH, TK_CASE,
	TK_DEFAULT, TK_BREAK, TK_CONTINUE, TK_TRY, TK_CATCH, TK_FINALLY, TK_THROW,
	TK_TYPEOF, TK_OUT,
	/* punctuators */
	TK_LPAREN, TK_RPAREN, TK_LBRACE, TK_RBRACE, TK_LBRACK, TK_RBRACK, TK_DOT,
	TK_COMMA, TK_SEMI, TK_COLON, TK_QUESTION, TK_QDOT, TK_QLBRACK, TK_QQ,
	TK_ARROW, TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_PERCENT, TK_AMP, TK_PIPE,
	TK_CARET, TK_BANG, TK_TILDE, TK_LT, TK_GT, TK_LE, TK_GE, TK_EQ, TK_NE,
	TK_ANDAND, TK_OROR, TK_SHL, TK_SHR, TK_PLUSPLUS, TK_MINUSMINUS,
	TK_ASSIGN, TK_PLUSEQ, TK_MINUSEQ, TK_STAREQ, TK_SLASHEQ, TK_PERCENTEQ,
	TK_AMPEQ, TK_PIPEEQ, TK_CARETEQ, TK_QQEQ, TK_SHLEQ, TK_SHREQ,
	TK__COUNT
};

/* Numeric literal types from suffixes. */
enum cg_expr_num { NUM_INT, NUM_UINT, NUM_LONG, NUM_ULONG, NUM_FLOAT, NUM_DOUBLE, NUM_DECIMAL };

struct cg_expr_token {
	uint8_t kind;       /* enum cg_expr_tk */
	uint8_t num;        /* enum cg_expr_num for TK_INT/TK_REAL */
	bool verbatim;      /* TK_INTERP: $@"..." */
	uint32_t line, col; /* 1-based, relative to the start of the lexed text */
	struct cg_str text; /* raw bytes; TK_INTERP: the body between the quotes */
	struct cg_str sval; /* TK_STRING: decoded UTF-8 */
	uint64_t u;         /* TK_INT value; TK_CHAR: UTF-16 unit */
	double d;           /* TK_REAL */
};

struct cg_expr_diagctx {
	struct cg_expr_diag *diag;
	uint32_t base_line, base_col;
};

/* Tokenises src (starting at line:col for messages) into an array in arena,
 * ending with TK_EOF. Returns the count, or -1 after reporting an error. */
int cg_expr_lex(struct cg_str src, uint32_t line, uint32_t col, struct cg_arena *arena,
		struct cg_expr_diagctx *dc, struct cg_expr_token **out);

/* Scans one interpolation hole starting after '{' at s[i]; returns the index
 * of its closing '}' or of ',' / ':' introducing alignment/format, or -1. */
long cg_expr_scan_hole(struct cg_str s, size_t i, bool verbatim);

/* Decodes the escape at s.ptr[*i] == '\\' into out (>= 4 bytes), advancing
 * *i past it. Returns bytes written, 0 for an invalid escape. */
size_t cg_expr_unescape(struct cg_str s, size_t *i, char *out);

void cg_expr_report(struct cg_expr_diagctx *dc, bool warning, uint32_t line, uint32_t col,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- AST (parse.c, check.c) ---- */

enum cg_expr_op {
	/* produced by the parser */
	N_LIT, N_IDENT, N_MEMBER, N_CALL, N_INDEX, N_UNARY, N_BINARY, N_COND, N_IS,
	N_AS, N_CAST, N_LAMBDA, N_NEW, N_NEWARRAY, N_INTERP, N_ASSIGN, N_INCDEC,
	N_TYPEEXPR, /* a generic name like List<string> seen as an expression */
	N_NAMEDARG, /* name: expr in an argument list (a = the expression) */
	N_THROWX,   /* throw expression (C# 7): only in ?: branches and after ?? */
	/* produced by the checker */
	N_LOCAL, N_CONTEXT, N_TYPEREF, N_PROP, N_METHOD, N_LINQ, N_CERT_HAS,
	N_CONVERT, N_STRCAT, N_X500_EQ, N_ANDALSO, N_ORELSE, N_COALESCE,
	N_BOOL3,    /* bool? & and |: C#'s three-valued logic */
	/* statements */
	S_BLOCK, S_EXPR, S_VAR, S_IF, S_WHILE, S_DO, S_FOR, S_FOREACH, S_RETURN,
	S_THROW, S_BREAK, S_CONTINUE, S_EMPTY, S_TRY, S_CATCH, S_SWITCH, S_CASE,
	S_USINGEXPR, /* the resource of `using (expr)`: evaluated, its value dropped */
};

/* A type as written in the source: name<args>[]? */
struct cg_expr_tsyn {
	struct cg_str name;             /* dotted: "System.String" */
	struct cg_expr_tsyn *args[2];
	uint8_t nargs;
	uint8_t rank;                   /* [] count */
	bool nullable;
	uint32_t line, col;
};

struct cg_expr_member;

struct cg_expr_node {
	uint16_t op;                    /* enum cg_expr_op */
	uint16_t sub;                   /* operator token, LINQ kind, ... */
	struct cg_expr_type type;       /* set by the checker */
	bool cond;                      /* ?. and ?[ */
	uint32_t line, col;             /* relative to the source */
	struct cg_expr_node *a, *b, *c, *d;
	struct cg_expr_node **list;     /* arguments, statements, parts */
	uint32_t n;
	int32_t slot;                   /* N_LOCAL, lambda params (first), S_VAR, S_FOREACH */
	struct cg_str name;             /* N_IDENT, N_MEMBER; N_INTERP part format */
	int32_t align;                  /* N_INTERP part alignment */
	struct cg_expr_tsyn *tsyn;      /* N_CAST/N_AS/N_IS/N_NEW/S_VAR, generic arg */
	struct cg_expr_value lit;       /* N_LIT */
	const struct cg_expr_member *member;
};

struct cg_expr_program {
	struct cg_expr_node *root;      /* an expression, or S_BLOCK */
	enum cg_expr_kind kind;
	struct cg_expr_type type;       /* result type */
	uint32_t nslots;
};

/* Parses tokens into an AST in arena. Returns the root or NULL after
 * reporting. The parser also lexes and parses interpolation holes. */
struct cg_expr_node *cg_expr_parse(struct cg_expr_token *toks, int ntoks, enum cg_expr_kind kind,
				   struct cg_arena *arena, struct cg_expr_diagctx *dc);

/* Binds and types the tree in place. Returns 0, or -1 after reporting. */
int cg_expr_check(struct cg_expr_program *p, const struct cg_expr_env *env,
		  struct cg_arena *arena, struct cg_expr_diagctx *dc);

/* ---- members (members.c) ---- */

struct cg_expr_run;

typedef int (*cg_expr_member_fn)(struct cg_expr_run *r, const struct cg_expr_value *self,
				 const struct cg_expr_value *args, unsigned nargs,
				 struct cg_expr_value *out);

enum {
	MF_STATIC = 1 << 0,  /* Type.Member */
	MF_METHOD = 1 << 1,  /* called with ( ) */
	MF_INDEXER = 1 << 2, /* x[...] */
	MF_GENERIC = 1 << 3, /* takes one type argument: result = the type argument */
	MF_VARARGS = 1 << 4, /* last param repeats (params T[]) */
	MF_NULLSELF = 1 << 5, /* called even when self is null (extension methods) */
	MF_OUT2 = 1 << 6,     /* the second parameter is `out` (TryParse, TryGetValue) */
	MF_OUT1 = 1 << 7,     /* the first parameter is `out` (TryParseJwt) */
	MF_NULLABLE = 1 << 8, /* the value-type result is a T? (Jwt.ExpirationTime) */
};

#define CG_EXPR_MEMBER_PARAMS 6

struct cg_expr_member {
	uint8_t owner;                  /* enum cg_expr_tid */
	uint16_t flags;
	uint8_t nmin, nmax;             /* argument counts */
	const char *name;
	struct cg_expr_type params[CG_EXPR_MEMBER_PARAMS];
	struct cg_expr_type result;
	cg_expr_member_fn fn;
};

extern const struct cg_expr_member cg_expr_members[];
extern const size_t cg_expr_n_members;

/* ---- run state (eval.c) ---- */

struct cg_expr_run {
	struct cg_expr_ctx *ctx;
	struct cg_expr_error *err;
	const struct cg_expr_node *node;    /* the call being evaluated, for generic args */
	struct cg_expr_value *out_args;     /* the call's arguments: `out` parameters are written here */
	uint64_t steps, max_steps;
	unsigned depth;
	size_t max_string;
	uint32_t max_items;
	const struct cg_expr_value *current_exc; /* inside a catch: for `throw;` */
	struct cg_expr_value locals[CG_EXPR_MAX_LOCALS];
};

/* A caught exception as a value (System.Exception), in the request arena. */
struct cg_expr_exception {
	char type[64];
	char message[200];
};

/* Sets a .NET exception and returns -1. */
int cg_expr_throw(struct cg_expr_run *r, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The certificate with every field decoded (cg_expr_cert_full), or NULL
 * with a CryptographicException thrown when it cannot be decoded. */
const struct cg_expr_cert *cg_expr_cert_decoded(struct cg_expr_run *r, const struct cg_expr_cert *c);
int cg_expr_budget(struct cg_expr_run *r, const char *what);
int cg_expr_nomem(struct cg_expr_run *r);

/* Allocates a string of n bytes in the request arena, checking max_string. */
char *cg_expr_strbuf(struct cg_expr_run *r, size_t n);
int cg_expr_tostr(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_str *out);

/* Formats v into buf (>= 64 bytes) for numbers, bools, chars, dates and guids
 * with an optional .NET format string. Returns length, or -1 for an
 * unsupported format (FormatException). */
int cg_expr_format_scalar(const struct cg_expr_value *v, struct cg_str fmt, char *buf, size_t len);

/* ---- dates and formatting (fmt.c) ---- */

#define CG_EXPR_TICKS_PER_SEC 10000000LL
#define CG_EXPR_TICKS_PER_DAY (86400LL * CG_EXPR_TICKS_PER_SEC)
#define CG_EXPR_DT_MAX_TICKS 3155378975999999999LL /* 9999-12-31T23:59:59.9999999 */

struct cg_expr_dt {
	int year, month, day, hour, minute, second;
	int frac;      /* ticks within the second, 0..9999999 */
	int dow;       /* 0 = Sunday */
	int doy;       /* 1-based */
};

void cg_expr_dt_split(int64_t ticks, struct cg_expr_dt *out);
/* Ticks for a civil date-time, or -1 when out of range/invalid. */
int64_t cg_expr_dt_make(int y, int mo, int d, int h, int mi, int s);
bool cg_expr_is_leap(int y);
int cg_expr_days_in_month(int y, int m);
/* The clock: UTC now, or ctx->context->now when the caller pinned it. */
int64_t cg_expr_now_utc(const struct cg_expr_run *r);
/* Local time ticks for UTC ticks (the host's TZ; certgate runs with TZ=UTC). */
int64_t cg_expr_to_local(int64_t utc);
/* Parses the formats DateTime.Parse accepts (ISO 8601 and the invariant
 * "MM/dd/yyyy HH:mm:ss"). Returns 0 or -1. */
int cg_expr_dt_parse(struct cg_str s, int64_t *ticks, uint8_t *kind);
/* Parses an int with .NET Int32.Parse's rules (NumberStyles.Integer). */
int cg_expr_parse_long(struct cg_str s, int64_t min, int64_t max, int64_t *out);
int cg_expr_parse_double(struct cg_str s, double *out);

/* The InvalidOperationException of a null T?'s Value. */
int cg_expr_nullable_empty(struct cg_expr_run *r);

/* ---- regular expressions (regex.c) ---- */

struct cg_expr_regex;
/* Compiles a .NET pattern into arena (regfree runs at the arena's cleanup).
 * options: RegexOptions bits (IgnoreCase 1, Multiline 2). NULL + *why. */
struct cg_expr_regex *cg_expr_regex_compile(struct cg_arena *a, struct cg_str pattern, int options,
					    const char **why);
/* 1 on a match at or after byte from (spans per .NET group, -1 = unset), 0 if none. */
int cg_expr_regex_exec(const struct cg_expr_regex *x, struct cg_str s, size_t from, long so[], long eo[],
		       unsigned *ngroups);
/* The .NET group index for a name or number, -1 if none. */
int cg_expr_regex_group(const struct cg_expr_regex *x, struct cg_str name);
/* The pattern as written; it lives as long as the regex's arena. */
struct cg_str cg_expr_regex_pattern(const struct cg_expr_regex *x);
#define CG_EXPR_RE_GROUPS 16

/* ---- JSON and bodies (json.c); member functions for the tables ---- */

int cg_expr_body_as(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		    unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_parse(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_index(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_count(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_containskey(struct cg_expr_run *r, const struct cg_expr_value *self,
			     const struct cg_expr_value *args, unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_tostring(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			  unsigned nargs, struct cg_expr_value *out);
int cg_expr_json_value(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out);
/* (T)token: converts a JToken value to a scalar type, as Newtonsoft's explicit operators. */
int cg_expr_json_to(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_expr_type t,
		    struct cg_expr_value *out);
#define CG_EXPR_JSON_FN(name)                                                                     \
	int name(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args, \
		 unsigned nargs, struct cg_expr_value *out)
CG_EXPR_JSON_FN(cg_expr_json_ctor);
CG_EXPR_JSON_FN(cg_expr_jprop_ctor);
CG_EXPR_JSON_FN(cg_expr_jprop_name);
CG_EXPR_JSON_FN(cg_expr_jprop_value);
CG_EXPR_JSON_FN(cg_expr_json_set);
CG_EXPR_JSON_FN(cg_expr_json_add);
CG_EXPR_JSON_FN(cg_expr_json_remove);
CG_EXPR_JSON_FN(cg_expr_json_serialize);
uint32_t cg_expr_json_len(const struct cg_expr_value *v);

CG_EXPR_JSON_FN(cg_expr_str_asjwt);
CG_EXPR_JSON_FN(cg_expr_jwt_algorithm);
CG_EXPR_JSON_FN(cg_expr_jwt_type);
CG_EXPR_JSON_FN(cg_expr_jwt_id);
CG_EXPR_JSON_FN(cg_expr_jwt_issuer);
CG_EXPR_JSON_FN(cg_expr_jwt_subject);
CG_EXPR_JSON_FN(cg_expr_jwt_exp);
CG_EXPR_JSON_FN(cg_expr_jwt_iat);
CG_EXPR_JSON_FN(cg_expr_jwt_nbf);
CG_EXPR_JSON_FN(cg_expr_jwt_claims);
CG_EXPR_JSON_FN(cg_expr_jwt_audiences);

CG_EXPR_JSON_FN(cg_expr_json_selecttoken);
CG_EXPR_JSON_FN(cg_expr_json_properties);
CG_EXPR_JSON_FN(cg_expr_json_type);

/* ---- hashes (hash.c) ---- */
int cg_expr_hash_alg(struct cg_str name);
bool cg_expr_hash_hmac(int alg);
CG_EXPR_JSON_FN(cg_expr_hash_new);
CG_EXPR_JSON_FN(cg_expr_hash_compute);
CG_EXPR_JSON_FN(cg_expr_hash_dispose);

/* ---- List, HashSet, Dictionary (coll.c) ---- */
CG_EXPR_JSON_FN(cg_expr_coll_new);
CG_EXPR_JSON_FN(cg_expr_coll_add);
CG_EXPR_JSON_FN(cg_expr_coll_count);
CG_EXPR_JSON_FN(cg_expr_coll_contains);
CG_EXPR_JSON_FN(cg_expr_coll_remove);
CG_EXPR_JSON_FN(cg_expr_coll_clear);
CG_EXPR_JSON_FN(cg_expr_list_get);
CG_EXPR_JSON_FN(cg_expr_list_set);
CG_EXPR_JSON_FN(cg_expr_dict_add);
CG_EXPR_JSON_FN(cg_expr_dict_get);
CG_EXPR_JSON_FN(cg_expr_dict_set);
CG_EXPR_JSON_FN(cg_expr_dict_containskey);
CG_EXPR_JSON_FN(cg_expr_dict_trygetvalue);
CG_EXPR_JSON_FN(cg_expr_dict_keys);
CG_EXPR_JSON_FN(cg_expr_dict_values);
CG_EXPR_JSON_FN(cg_expr_dictkv_key);
CG_EXPR_JSON_FN(cg_expr_dictkv_value);
int cg_expr_coll_add_value(struct cg_expr_run *r, const struct cg_expr_value *coll, const struct cg_expr_value *v,
			   bool *added);
uint32_t cg_expr_coll_len(const struct cg_expr_value *v);
/* Any sequence value (array, byte[], collection, context dictionary, JArray;
 * strings by byte): its length and item i. */
uint32_t cg_expr_seq_len(const struct cg_expr_value *v);
/* s as a char[] (UTF-16 units) in the request arena. */
int cg_expr_char_array(struct cg_expr_run *r, struct cg_str s, struct cg_expr_value *out);
void cg_expr_seq_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out);
void cg_expr_coll_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out);
struct cg_expr_array *cg_expr_new_array(struct cg_expr_run *r, uint32_t n, uint8_t elem);
void cg_expr_json_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out);

/* Culture (not ordinal) string order, as String.Compare/OrderBy default to:
 * an ASCII approximation of ICU's root collation (see docs). */
int cg_expr_culture_cmp(struct cg_str a, struct cg_str b, bool ignore_case);

/* ---- exact double helpers (mathx.c) ---- */

double cg_expr_trunc(double x);
double cg_expr_floor(double x);
double cg_expr_ceil(double x);
double cg_expr_rint(double x);       /* half to even */
double cg_expr_round_away(double x); /* half away from zero */
double cg_expr_fmod(double x, double y);

/* ---- System.Decimal (decimal.c) ---- */

#define CG_EXPR_DEC_OVF "Value was either too large or too small for a Decimal."
enum { CG_EXPR_DEC_EVEN, CG_EXPR_DEC_FLOOR, CG_EXPR_DEC_CEIL, CG_EXPR_DEC_TRUNC };
struct cg_expr_value cg_expr_dec_make(unsigned __int128 c, int scale, bool neg);
unsigned __int128 cg_expr_dec_coef(const struct cg_expr_value *v);
/* Text to decimal: decimal.Parse's NumberStyles.Number (invariant), or a
 * C# literal (digits, '.', exponent; no sign, no suffix) when literal.
 * 0, -1 (format), -2 (overflow). Extra digits round half to even. */
int cg_expr_dec_parse(struct cg_str s, bool literal, struct cg_expr_value *out);
/* + - * / % (TK_*): 0, -1 (overflow), -2 (division by zero). */
int cg_expr_dec_arith(int op, const struct cg_expr_value *a, const struct cg_expr_value *b, struct cg_expr_value *out);
int cg_expr_dec_cmp(const struct cg_expr_value *a, const struct cg_expr_value *b);
void cg_expr_dec_from_long(int64_t l, struct cg_expr_value *out);
int cg_expr_dec_from_double(double d, struct cg_expr_value *out); /* -1: overflow */
double cg_expr_dec_to_double(const struct cg_expr_value *v);
/* Truncates toward zero; -1 when outside min..max. */
int cg_expr_dec_to_long(const struct cg_expr_value *v, int64_t min, int64_t max, int64_t *out);
/* To at most digits decimals (CG_EXPR_DEC_*), as decimal.Round/Floor/... */
int cg_expr_dec_round(const struct cg_expr_value *v, int digits, int mode, struct cg_expr_value *out);
/* value * 10^shift with prec decimals (prec < 0: its own scale), rounded
 * half away from zero as .NET's formatting; ToString() is (v, 0, -1). */
int cg_expr_dec_fixed(const struct cg_expr_value *v, int shift, int prec, char *buf, size_t len);
int cg_expr_dec_text(const struct cg_expr_value *v, char *buf, size_t len);
/* "G<prec>" / "g<prec>" (prec >= 0), as .NET formats a decimal. */
int cg_expr_dec_general(const struct cg_expr_value *v, int prec, bool upper, char *buf, size_t len);

/* ---- types (types.c) ---- */

static inline struct cg_expr_type cg_expr_ty(uint8_t id)
{
	return (struct cg_expr_type){ id, 0 };
}
static inline struct cg_expr_type cg_expr_ty2(uint8_t id, uint8_t elem)
{
	return (struct cg_expr_type){ id, elem };
}
static inline bool cg_expr_ty_eq(struct cg_expr_type a, struct cg_expr_type b)
{
	return a.id == b.id && a.elem == b.elem;
}
bool cg_expr_ty_is_ref(struct cg_expr_type t);      /* null is a value of it */
bool cg_expr_ty_is_numeric(struct cg_expr_type t);   /* char, int, long, double */
/* The element type when t is enumerable, or ERROR. */
struct cg_expr_type cg_expr_ty_elem(struct cg_expr_type t);
/* Resolves a C# type name ("string", "Int32", "System.DateTime"). ERROR if unknown. */
struct cg_expr_type cg_expr_ty_lookup(struct cg_str name);
/* .NET full name of a type APIM forbids or certgate does not have yet, or NULL. */
const char *cg_expr_ty_foreign(struct cg_str name, bool *allowed_by_apim);
const char *cg_expr_ty_short(struct cg_expr_type t, char *buf, size_t len);

#endif
