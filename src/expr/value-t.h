/* Values and static types of the expression language (types only).
 *
 * A value is a small tagged union passed by value (jq's jv idea, without
 * refcounts): every string or array it points to lives either in the
 * compiled program's arena (literals), in the request's context view (the
 * gateway's buffers) or in the per-request evaluation arena. Nothing is freed
 * one by one, so values may be copied freely during one evaluation. */
#ifndef CG_EXPR_VALUE_T_H
#define CG_EXPR_VALUE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

/* Static types known to the checker. The order matters only for the numeric
 * promotions (INT < LONG < DOUBLE). Each maps to a .NET type name in
 * types.c, used in messages and in test expectations. */
enum cg_expr_tid {
	CG_EXPR_T_ERROR = 0, /* a node that failed to check; suppresses follow-up errors */
	CG_EXPR_T_VOID,
	CG_EXPR_T_NULL,      /* the type of the literal null */
	CG_EXPR_T_OBJECT,
	CG_EXPR_T_BOOL,
	CG_EXPR_T_CHAR,
	CG_EXPR_T_INT,
	CG_EXPR_T_LONG,
	CG_EXPR_T_DOUBLE,
	CG_EXPR_T_STRING,
	CG_EXPR_T_DATETIME,
	CG_EXPR_T_TIMESPAN,
	CG_EXPR_T_GUID,
	CG_EXPR_T_STRCMP,    /* System.StringComparison (an enum, held as INT) */
	CG_EXPR_T_MATH,      /* static classes: only reachable through TYPEREF */
	CG_EXPR_T_CONVERT,
	CG_EXPR_T_EXCEPTION, /* System.Exception (any caught or thrown exception) */
	CG_EXPR_T_BYTE,      /* System.Byte: only as byte[] elements (held as INT) */
	CG_EXPR_T_ENCODING,  /* System.Text.Encoding (UTF8, ASCII) */
	CG_EXPR_T_REGEX,     /* System.Text.RegularExpressions.Regex (u.obj: struct cg_expr_regex) */
	CG_EXPR_T_REGEXOPT,  /* RegexOptions (an enum, held as INT) */
	CG_EXPR_T_MATCH,     /* Match */
	CG_EXPR_T_GROUP,     /* Group */
	CG_EXPR_T_GROUPS,    /* GroupCollection */
	CG_EXPR_T_BODY,      /* IMessageBody */
	CG_EXPR_T_JTOKEN,    /* Newtonsoft JToken / JObject / JArray (a jansson json_t) */
	CG_EXPR_T_SUBSCRIPTION, /* ISubscription: the request key's subscription, or null */
	CG_EXPR_T_USER,      /* IUser: always null */
	CG_EXPR_T_PRODUCT,   /* IProduct: the product of a product subscription */
	CG_EXPR_T_NAMETYPE,  /* X509NameType (an enum, held as INT) */
	CG_EXPR_T_BASICAUTH, /* BasicAuthCredentials (string.AsBasic()) */
	CG_EXPR_T_JPROPERTY, /* Newtonsoft JProperty (name + json_t value) */
	CG_EXPR_T_JSONCONVERT, /* Newtonsoft JsonConvert (static) */
	CG_EXPR_T_LIST,      /* List<elem> */
	CG_EXPR_T_DICT,      /* Dictionary<string, elem> */
	CG_EXPR_T_SET,       /* HashSet<elem> */
	CG_EXPR_T_DICTKV,    /* KeyValuePair<string, elem> */
	CG_EXPR_T_JWT,       /* APIM Jwt (string.AsJwt()) */
	CG_EXPR_T_HASH,      /* HashAlgorithm / HMAC (SHA256, HMACSHA256 ...) */
	CG_EXPR_T_JTOKENTYPE, /* JTokenType (an enum, held as its name: a string) */
	CG_EXPR_T_DAYOFWEEK, /* DayOfWeek (an enum, held as its name: a string) */
	CG_EXPR_T_URI,       /* System.Uri (static helpers only) */
	CG_EXPR_T_SB,        /* System.Text.StringBuilder */
	CG_EXPR_T_SPLITOPT,  /* StringSplitOptions (an enum, held as INT) */
	CG_EXPR_T_BITCONVERTER, /* System.BitConverter (static) */
	CG_EXPR_T_RANDOM,    /* System.Random */
	CG_EXPR_T_DTO,       /* DateTimeOffset: held as a UTC DateTime value (offset +00:00) */
	CG_EXPR_T_IPADDR,    /* System.Net.IPAddress */
	CG_EXPR_T_GATEWAY,   /* context.Deployment.Gateway */
	CG_EXPR_T_WORKSPACE, /* context.Workspace: always null in certgate */
	CG_EXPR_T_PRIVEP,    /* Request.PrivateEndpointConnection: always null */
	CG_EXPR_T_WEBUTILITY, /* System.Net.WebUtility (static) */
	CG_EXPR_T_DECIMAL,   /* System.Decimal (numeric: see cg_expr_ty_is_numeric) */
	CG_EXPR_T_MATCHES,   /* MatchCollection: an array of Match objects (u.obj) */
	CG_EXPR_T_NULLABLE,  /* T? (Nullable<T>), elem = T: at run time null or a T value */
	CG_EXPR_T_ELEM,      /* member tables only: the owner's element type */
	/* the context tree */
	CG_EXPR_T_CONTEXT,
	CG_EXPR_T_API,
	CG_EXPR_T_OPERATION,
	CG_EXPR_T_DEPLOYMENT,
	CG_EXPR_T_REQUEST,
	CG_EXPR_T_RESPONSE,
	CG_EXPR_T_URL,
	CG_EXPR_T_LASTERROR,
	CG_EXPR_T_CERT,      /* X509Certificate2 */
	CG_EXPR_T_X500,      /* X500DistinguishedName */
	CG_EXPR_T_CERTDICT,  /* IReadOnlyDictionary<string, X509Certificate2> */
	CG_EXPR_T_CERTKV,    /* KeyValuePair<string, X509Certificate2> */
	CG_EXPR_T_HEADERS,   /* IReadOnlyDictionary<string, string[]> */
	CG_EXPR_T_HEADERKV,  /* KeyValuePair<string, string[]> */
	CG_EXPR_T_STRDICT,   /* IReadOnlyDictionary<string, string> (MatchedParameters) */
	CG_EXPR_T_STRKV,     /* KeyValuePair<string, string> */
	CG_EXPR_T_VARIABLES, /* IReadOnlyDictionary<string, object> */
	CG_EXPR_T_VARKV,     /* KeyValuePair<string, object> */
	CG_EXPR_T_ARRAY,     /* elem[] ; elem in cg_expr_type.elem */
	CG_EXPR_T_SEQ,       /* IEnumerable<elem> (results of Where/Select) */
	CG_EXPR_T_LAMBDA,    /* only as a method argument */
	CG_EXPR_T_TYPEREF,   /* a type name used for static access; elem = the type */
	CG_EXPR_T__COUNT
};

struct cg_expr_type {
	uint8_t id;   /* enum cg_expr_tid */
	uint8_t elem; /* element type for ARRAY/SEQ, named type for TYPEREF */
};

/* Runtime kinds. A null of any reference type is CG_EXPR_V_NULL. */
enum cg_expr_vkind {
	CG_EXPR_V_NULL = 0,
	CG_EXPR_V_BOOL,
	CG_EXPR_V_CHAR,
	CG_EXPR_V_INT,
	CG_EXPR_V_LONG,
	CG_EXPR_V_DOUBLE,
	CG_EXPR_V_STRING,
	CG_EXPR_V_DATETIME,
	CG_EXPR_V_TIMESPAN,
	CG_EXPR_V_GUID,
	CG_EXPR_V_ARRAY,     /* u.arr */
	CG_EXPR_V_OBJ,       /* u.obj with cls = enum cg_expr_tid of the object */
	CG_EXPR_V_BYTES,     /* byte[]: u.s holds the bytes (compact, unlike V_ARRAY) */
	CG_EXPR_V_DECIMAL,   /* System.Decimal: u.dec */
};

/* DateTimeKind, as .NET: comparisons ignore it, formatting ("o", "K") uses it. */
enum cg_expr_dtkind {
	CG_EXPR_DT_UNSPECIFIED = 0,
	CG_EXPR_DT_UTC = 1,
	CG_EXPR_DT_LOCAL = 2,
};

struct cg_expr_array;

struct cg_expr_value {
	uint8_t kind;   /* enum cg_expr_vkind */
	uint8_t cls;    /* V_OBJ: enum cg_expr_tid; V_ARRAY: element tid */
	uint8_t dtkind; /* V_DATETIME: enum cg_expr_dtkind */
	uint8_t aux;    /* V_OBJ of X500: 0 = subject, 1 = issuer */
	union {
		bool b;
		uint16_t c;      /* a UTF-16 code unit, as .NET char */
		int32_t i;
		int64_t l;
		double d;
		int64_t ticks;   /* DateTime: 100 ns since 0001-01-01; TimeSpan: 100 ns */
		uint8_t guid[16];
		/* System.Decimal: (hi:lo) a 96-bit coefficient, value =
		 * coefficient / 10^scale (scale 0..28), never a negative zero */
		struct {
			uint64_t lo;
			uint32_t hi;
			uint8_t scale;
			uint8_t neg;
		} dec;
		struct cg_str s; /* UTF-8 bytes; see docs/expressions.md on indexing */
		const struct cg_expr_array *arr;
		const void *obj;
		/* an object plus the collection it came from (a header line and
		 * its Headers); ref.obj aliases obj */
		struct {
			const void *obj;
			const void *owner;
		} ref;
	} u;
};

struct cg_expr_array {
	uint32_t n;
	struct cg_expr_value items[];
};

#endif
