/* Static types: names, the C# spellings the checker accepts, and which .NET
 * types are deliberately absent (for APIM's error wording). */
#include "expr/internal.h"

#include <stdio.h>
#include <string.h>

static const char *const full_names[CG_EXPR_T__COUNT] = {
	[CG_EXPR_T_ERROR] = "?",
	[CG_EXPR_T_VOID] = "System.Void",
	[CG_EXPR_T_NULL] = "null",
	[CG_EXPR_T_OBJECT] = "System.Object",
	[CG_EXPR_T_BOOL] = "System.Boolean",
	[CG_EXPR_T_CHAR] = "System.Char",
	[CG_EXPR_T_INT] = "System.Int32",
	[CG_EXPR_T_LONG] = "System.Int64",
	[CG_EXPR_T_DOUBLE] = "System.Double",
	[CG_EXPR_T_DECIMAL] = "System.Decimal",
	[CG_EXPR_T_STRING] = "System.String",
	[CG_EXPR_T_DATETIME] = "System.DateTime",
	[CG_EXPR_T_TIMESPAN] = "System.TimeSpan",
	[CG_EXPR_T_GUID] = "System.Guid",
	[CG_EXPR_T_STRCMP] = "System.StringComparison",
	[CG_EXPR_T_MATH] = "System.Math",
	[CG_EXPR_T_CONVERT] = "System.Convert",
	[CG_EXPR_T_EXCEPTION] = "System.Exception",
	[CG_EXPR_T_BYTE] = "System.Byte",
	[CG_EXPR_T_ENCODING] = "System.Text.Encoding",
	[CG_EXPR_T_REGEX] = "System.Text.RegularExpressions.Regex",
	[CG_EXPR_T_REGEXOPT] = "System.Text.RegularExpressions.RegexOptions",
	[CG_EXPR_T_MATCH] = "System.Text.RegularExpressions.Match",
	[CG_EXPR_T_GROUP] = "System.Text.RegularExpressions.Group",
	[CG_EXPR_T_GROUPS] = "System.Text.RegularExpressions.GroupCollection",
	[CG_EXPR_T_MATCHES] = "System.Text.RegularExpressions.MatchCollection",
	[CG_EXPR_T_BODY] = "IMessageBody",
	[CG_EXPR_T_JTOKEN] = "Newtonsoft.Json.Linq.JToken",
	[CG_EXPR_T_SUBSCRIPTION] = "ISubscription",
	[CG_EXPR_T_USER] = "IUser",
	[CG_EXPR_T_PRODUCT] = "IProduct",
	[CG_EXPR_T_NAMETYPE] = "System.Security.Cryptography.X509Certificates.X509NameType",
	[CG_EXPR_T_BASICAUTH] = "BasicAuthCredentials",
	[CG_EXPR_T_JPROPERTY] = "Newtonsoft.Json.Linq.JProperty",
	[CG_EXPR_T_JSONCONVERT] = "Newtonsoft.Json.JsonConvert",
	[CG_EXPR_T_LIST] = "System.Collections.Generic.List`1",
	[CG_EXPR_T_DICT] = "System.Collections.Generic.Dictionary`2",
	[CG_EXPR_T_SET] = "System.Collections.Generic.HashSet`1",
	[CG_EXPR_T_DICTKV] = "System.Collections.Generic.KeyValuePair`2",
	[CG_EXPR_T_ELEM] = "T",
	[CG_EXPR_T_JWT] = "Jwt",
	[CG_EXPR_T_HASH] = "System.Security.Cryptography.HashAlgorithm",
	[CG_EXPR_T_JTOKENTYPE] = "Newtonsoft.Json.Linq.JTokenType",
	[CG_EXPR_T_DAYOFWEEK] = "System.DayOfWeek",
	[CG_EXPR_T_URI] = "System.Uri",
	[CG_EXPR_T_SB] = "System.Text.StringBuilder",
	[CG_EXPR_T_SPLITOPT] = "System.StringSplitOptions",
	[CG_EXPR_T_BITCONVERTER] = "System.BitConverter",
	[CG_EXPR_T_RANDOM] = "System.Random",
	[CG_EXPR_T_DTO] = "System.DateTimeOffset",
	[CG_EXPR_T_IPADDR] = "System.Net.IPAddress",
	[CG_EXPR_T_GATEWAY] = "IGateway",
	[CG_EXPR_T_WORKSPACE] = "IWorkspace",
	[CG_EXPR_T_PRIVEP] = "IPrivateEndpointConnection",
	[CG_EXPR_T_WEBUTILITY] = "System.Net.WebUtility",
	[CG_EXPR_T_CONTEXT] = "IProxyContext",
	[CG_EXPR_T_API] = "IApi",
	[CG_EXPR_T_OPERATION] = "IOperation",
	[CG_EXPR_T_DEPLOYMENT] = "IDeployment",
	[CG_EXPR_T_REQUEST] = "IRequest",
	[CG_EXPR_T_RESPONSE] = "IResponse",
	[CG_EXPR_T_URL] = "IUrl",
	[CG_EXPR_T_LASTERROR] = "ILastError",
	[CG_EXPR_T_CERT] = "System.Security.Cryptography.X509Certificates.X509Certificate2",
	[CG_EXPR_T_X500] = "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
	[CG_EXPR_T_CERTDICT] = "System.Collections.Generic.IReadOnlyDictionary`2[System.String,System.Security.Cryptography.X509Certificates.X509Certificate2]",
	[CG_EXPR_T_CERTKV] = "System.Collections.Generic.KeyValuePair`2[System.String,System.Security.Cryptography.X509Certificates.X509Certificate2]",
	[CG_EXPR_T_HEADERS] = "System.Collections.Generic.IReadOnlyDictionary`2[System.String,System.String[]]",
	[CG_EXPR_T_HEADERKV] = "System.Collections.Generic.KeyValuePair`2[System.String,System.String[]]",
	[CG_EXPR_T_STRDICT] = "System.Collections.Generic.IReadOnlyDictionary`2[System.String,System.String]",
	[CG_EXPR_T_STRKV] = "System.Collections.Generic.KeyValuePair`2[System.String,System.String]",
	[CG_EXPR_T_VARIABLES] = "System.Collections.Generic.IReadOnlyDictionary`2[System.String,System.Object]",
	[CG_EXPR_T_VARKV] = "System.Collections.Generic.KeyValuePair`2[System.String,System.Object]",
	[CG_EXPR_T_ARRAY] = "[]",
	[CG_EXPR_T_SEQ] = "System.Collections.Generic.IEnumerable`1",
	[CG_EXPR_T_LAMBDA] = "lambda expression",
	[CG_EXPR_T_TYPEREF] = "type",
};

/* Short names for messages about members ("Usage of member 'X' of type 'T'"). */
static const char *const short_names[CG_EXPR_T__COUNT] = {
	[CG_EXPR_T_CERT] = "X509Certificate2",
	[CG_EXPR_T_ENCODING] = "Encoding",
	[CG_EXPR_T_REGEX] = "Regex",
	[CG_EXPR_T_REGEXOPT] = "RegexOptions",
	[CG_EXPR_T_MATCH] = "Match",
	[CG_EXPR_T_GROUP] = "Group",
	[CG_EXPR_T_GROUPS] = "GroupCollection",
	[CG_EXPR_T_MATCHES] = "MatchCollection",
	[CG_EXPR_T_JTOKEN] = "JToken",
	[CG_EXPR_T_JPROPERTY] = "JProperty",
	[CG_EXPR_T_JTOKENTYPE] = "JTokenType",
	[CG_EXPR_T_JSONCONVERT] = "JsonConvert",
	[CG_EXPR_T_NAMETYPE] = "X509NameType",
	[CG_EXPR_T_X500] = "X500DistinguishedName",
	[CG_EXPR_T_CERTDICT] = "IReadOnlyDictionary<string, X509Certificate2>",
	[CG_EXPR_T_CERTKV] = "KeyValuePair<string, X509Certificate2>",
	[CG_EXPR_T_HEADERS] = "IReadOnlyDictionary<string, string[]>",
	[CG_EXPR_T_HEADERKV] = "KeyValuePair<string, string[]>",
	[CG_EXPR_T_STRDICT] = "IReadOnlyDictionary<string, string>",
	[CG_EXPR_T_STRKV] = "KeyValuePair<string, string>",
	[CG_EXPR_T_VARIABLES] = "IReadOnlyDictionary<string, object>",
	[CG_EXPR_T_VARKV] = "KeyValuePair<string, object>",
};

const char *cg_expr_type_name(struct cg_expr_type t, char *buf, size_t len)
{
	if (t.id >= CG_EXPR_T__COUNT)
		return "?";
	if (t.id == CG_EXPR_T_ARRAY || t.id == CG_EXPR_T_SEQ) {
		if (t.id == CG_EXPR_T_ARRAY)
			snprintf(buf, len, "%s[]", t.elem < CG_EXPR_T__COUNT ? full_names[t.elem] : "?");
		else
			snprintf(buf, len, "System.Collections.Generic.IEnumerable`1[%s]",
				 t.elem < CG_EXPR_T__COUNT ? full_names[t.elem] : "?");
		return buf;
	}
	if (t.id == CG_EXPR_T_TYPEREF)
		return cg_expr_type_name(cg_expr_ty(t.elem), buf, len);
	if (t.id == CG_EXPR_T_NULLABLE) {
		snprintf(buf, len, "System.Nullable`1[%s]", t.elem < CG_EXPR_T__COUNT ? full_names[t.elem] : "?");
		return buf;
	}
	if (t.id == CG_EXPR_T_LIST || t.id == CG_EXPR_T_SET) {
		snprintf(buf, len, "%s[%s]", full_names[t.id], t.elem < CG_EXPR_T__COUNT ? full_names[t.elem] : "?");
		return buf;
	}
	if (t.id == CG_EXPR_T_DICT || t.id == CG_EXPR_T_DICTKV) {
		snprintf(buf, len, "%s[System.String,%s]", full_names[t.id], t.elem < CG_EXPR_T__COUNT ? full_names[t.elem] : "?");
		return buf;
	}
	snprintf(buf, len, "%s", full_names[t.id] ? full_names[t.id] : "?");
	return buf;
}

const char *cg_expr_ty_short(struct cg_expr_type t, char *buf, size_t len)
{
	if (t.id == CG_EXPR_T_TYPEREF)
		t = cg_expr_ty(t.elem);
	if (t.id == CG_EXPR_T_NULLABLE) {
		/* Int32? as the messages name the other types ('Int32') */
		char inner[160];
		snprintf(buf, len, "%s?", cg_expr_ty_short(cg_expr_ty(t.elem), inner, sizeof(inner)));
		return buf;
	}
	if (t.id < CG_EXPR_T__COUNT && short_names[t.id]) {
		snprintf(buf, len, "%s", short_names[t.id]);
		return buf;
	}
	const char *full = cg_expr_type_name(t, buf, len);
	if (strncmp(full, "System.", 7) == 0 && !strchr(full + 7, '.'))
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
	return buf;
}

bool cg_expr_ty_is_ref(struct cg_expr_type t)
{
	switch (t.id) {
	case CG_EXPR_T_BOOL:
	case CG_EXPR_T_CHAR:
	case CG_EXPR_T_BYTE:
	case CG_EXPR_T_INT:
	case CG_EXPR_T_LONG:
	case CG_EXPR_T_DOUBLE:
	case CG_EXPR_T_DECIMAL:
	case CG_EXPR_T_DATETIME:
	case CG_EXPR_T_DTO:
	case CG_EXPR_T_TIMESPAN:
	case CG_EXPR_T_GUID:
	case CG_EXPR_T_STRCMP:
	case CG_EXPR_T_REGEXOPT:
	case CG_EXPR_T_SPLITOPT:
	case CG_EXPR_T_NAMETYPE:
	case CG_EXPR_T_DICTKV:
	case CG_EXPR_T_JTOKENTYPE:
	case CG_EXPR_T_DAYOFWEEK:
	case CG_EXPR_T_CERTKV:
	case CG_EXPR_T_HEADERKV:
	case CG_EXPR_T_STRKV:
	case CG_EXPR_T_VARKV:
	case CG_EXPR_T_NULLABLE:
	case CG_EXPR_T_VOID:
		return false;
	default:
		return true;
	}
}

bool cg_expr_ty_is_numeric(struct cg_expr_type t)
{
	return t.id == CG_EXPR_T_CHAR || t.id == CG_EXPR_T_INT || t.id == CG_EXPR_T_LONG ||
	       t.id == CG_EXPR_T_DOUBLE || t.id == CG_EXPR_T_BYTE || t.id == CG_EXPR_T_DECIMAL;
}

struct cg_expr_type cg_expr_ty_elem(struct cg_expr_type t)
{
	switch (t.id) {
	case CG_EXPR_T_ARRAY:
	case CG_EXPR_T_SEQ:
		return cg_expr_ty(t.elem);
	case CG_EXPR_T_STRING:
		return cg_expr_ty(CG_EXPR_T_CHAR);
	case CG_EXPR_T_JTOKEN:
		return cg_expr_ty(CG_EXPR_T_JTOKEN); /* a JArray's items (a JObject enumerates nothing yet) */
	case CG_EXPR_T_LIST:
	case CG_EXPR_T_SET:
		return cg_expr_ty(t.elem);
	case CG_EXPR_T_DICT:
		return cg_expr_ty2(CG_EXPR_T_DICTKV, t.elem);
	case CG_EXPR_T_MATCHES:
		return cg_expr_ty(CG_EXPR_T_MATCH);
	case CG_EXPR_T_CERTDICT:
		return cg_expr_ty(CG_EXPR_T_CERTKV);
	case CG_EXPR_T_HEADERS:
		return cg_expr_ty(CG_EXPR_T_HEADERKV);
	case CG_EXPR_T_STRDICT:
		return cg_expr_ty(CG_EXPR_T_STRKV);
	case CG_EXPR_T_VARIABLES:
		return cg_expr_ty(CG_EXPR_T_VARKV);
	default:
		return cg_expr_ty(CG_EXPR_T_ERROR);
	}
}

static const struct {
	const char *name;
	uint8_t id;
} type_names[] = {
	{ "string", CG_EXPR_T_STRING }, { "String", CG_EXPR_T_STRING }, { "System.String", CG_EXPR_T_STRING },
	{ "int", CG_EXPR_T_INT }, { "Int32", CG_EXPR_T_INT }, { "System.Int32", CG_EXPR_T_INT },
	{ "long", CG_EXPR_T_LONG }, { "Int64", CG_EXPR_T_LONG }, { "System.Int64", CG_EXPR_T_LONG },
	{ "decimal", CG_EXPR_T_DECIMAL }, { "Decimal", CG_EXPR_T_DECIMAL }, { "System.Decimal", CG_EXPR_T_DECIMAL },
	{ "double", CG_EXPR_T_DOUBLE }, { "Double", CG_EXPR_T_DOUBLE }, { "System.Double", CG_EXPR_T_DOUBLE },
	{ "bool", CG_EXPR_T_BOOL }, { "Boolean", CG_EXPR_T_BOOL }, { "System.Boolean", CG_EXPR_T_BOOL },
	{ "char", CG_EXPR_T_CHAR }, { "Char", CG_EXPR_T_CHAR }, { "System.Char", CG_EXPR_T_CHAR },
	{ "object", CG_EXPR_T_OBJECT }, { "Object", CG_EXPR_T_OBJECT }, { "System.Object", CG_EXPR_T_OBJECT },
	{ "DateTime", CG_EXPR_T_DATETIME }, { "System.DateTime", CG_EXPR_T_DATETIME },
	{ "TimeSpan", CG_EXPR_T_TIMESPAN }, { "System.TimeSpan", CG_EXPR_T_TIMESPAN },
	{ "Guid", CG_EXPR_T_GUID }, { "System.Guid", CG_EXPR_T_GUID },
	{ "StringComparison", CG_EXPR_T_STRCMP }, { "System.StringComparison", CG_EXPR_T_STRCMP },
	{ "Math", CG_EXPR_T_MATH }, { "System.Math", CG_EXPR_T_MATH },
	{ "Convert", CG_EXPR_T_CONVERT }, { "System.Convert", CG_EXPR_T_CONVERT },
	{ "Exception", CG_EXPR_T_EXCEPTION }, { "System.Exception", CG_EXPR_T_EXCEPTION },
	{ "byte", CG_EXPR_T_BYTE }, { "Byte", CG_EXPR_T_BYTE }, { "System.Byte", CG_EXPR_T_BYTE },
	{ "Encoding", CG_EXPR_T_ENCODING }, { "System.Text.Encoding", CG_EXPR_T_ENCODING },
	{ "JObject", CG_EXPR_T_JTOKEN }, { "Newtonsoft.Json.Linq.JObject", CG_EXPR_T_JTOKEN },
	{ "JArray", CG_EXPR_T_JTOKEN }, { "Newtonsoft.Json.Linq.JArray", CG_EXPR_T_JTOKEN },
	{ "JToken", CG_EXPR_T_JTOKEN }, { "Newtonsoft.Json.Linq.JToken", CG_EXPR_T_JTOKEN },
	{ "JProperty", CG_EXPR_T_JPROPERTY }, { "Newtonsoft.Json.Linq.JProperty", CG_EXPR_T_JPROPERTY },
	{ "JsonConvert", CG_EXPR_T_JSONCONVERT }, { "Newtonsoft.Json.JsonConvert", CG_EXPR_T_JSONCONVERT },
	{ "SHA1", CG_EXPR_T_HASH }, { "SHA1Managed", CG_EXPR_T_HASH }, { "SHA256", CG_EXPR_T_HASH },
	{ "SHA256Managed", CG_EXPR_T_HASH }, { "SHA384", CG_EXPR_T_HASH }, { "SHA384Managed", CG_EXPR_T_HASH },
	{ "SHA512", CG_EXPR_T_HASH }, { "SHA512Managed", CG_EXPR_T_HASH }, { "MD5", CG_EXPR_T_HASH },
	{ "HMACSHA1", CG_EXPR_T_HASH }, { "HMACSHA256", CG_EXPR_T_HASH }, { "HMACSHA384", CG_EXPR_T_HASH },
	{ "HMACSHA512", CG_EXPR_T_HASH }, { "HMACMD5", CG_EXPR_T_HASH }, { "HashAlgorithm", CG_EXPR_T_HASH },
	{ "System.Security.Cryptography.SHA256", CG_EXPR_T_HASH },
	{ "System.Security.Cryptography.HMACSHA256", CG_EXPR_T_HASH },
	{ "System.Security.Cryptography.SHA1", CG_EXPR_T_HASH },
	{ "JTokenType", CG_EXPR_T_JTOKENTYPE }, { "Newtonsoft.Json.Linq.JTokenType", CG_EXPR_T_JTOKENTYPE },
	{ "DayOfWeek", CG_EXPR_T_DAYOFWEEK }, { "System.DayOfWeek", CG_EXPR_T_DAYOFWEEK },
	{ "Uri", CG_EXPR_T_URI }, { "System.Uri", CG_EXPR_T_URI },
	{ "WebUtility", CG_EXPR_T_WEBUTILITY }, { "System.Net.WebUtility", CG_EXPR_T_WEBUTILITY },
	{ "StringBuilder", CG_EXPR_T_SB }, { "System.Text.StringBuilder", CG_EXPR_T_SB },
	{ "StringSplitOptions", CG_EXPR_T_SPLITOPT }, { "System.StringSplitOptions", CG_EXPR_T_SPLITOPT },
	{ "BitConverter", CG_EXPR_T_BITCONVERTER }, { "System.BitConverter", CG_EXPR_T_BITCONVERTER },
	{ "Random", CG_EXPR_T_RANDOM }, { "System.Random", CG_EXPR_T_RANDOM },
	{ "DateTimeOffset", CG_EXPR_T_DTO }, { "System.DateTimeOffset", CG_EXPR_T_DTO },
	{ "IPAddress", CG_EXPR_T_IPADDR }, { "System.Net.IPAddress", CG_EXPR_T_IPADDR },
	{ "Regex", CG_EXPR_T_REGEX }, { "System.Text.RegularExpressions.Regex", CG_EXPR_T_REGEX },
	{ "RegexOptions", CG_EXPR_T_REGEXOPT }, { "System.Text.RegularExpressions.RegexOptions", CG_EXPR_T_REGEXOPT },
	{ "Match", CG_EXPR_T_MATCH }, { "System.Text.RegularExpressions.Match", CG_EXPR_T_MATCH },
	{ "Group", CG_EXPR_T_GROUP }, { "System.Text.RegularExpressions.Group", CG_EXPR_T_GROUP },
	{ "GroupCollection", CG_EXPR_T_GROUPS }, { "System.Text.RegularExpressions.GroupCollection", CG_EXPR_T_GROUPS },
	{ "MatchCollection", CG_EXPR_T_MATCHES }, { "System.Text.RegularExpressions.MatchCollection", CG_EXPR_T_MATCHES },
	{ "Jwt", CG_EXPR_T_JWT }, /* (Jwt)context.Variables["jwt"] after validate-jwt */
	{ "X509Certificate2", CG_EXPR_T_CERT },
	{ "System.Security.Cryptography.X509Certificates.X509Certificate2", CG_EXPR_T_CERT },
	{ "X500DistinguishedName", CG_EXPR_T_X500 },
	{ "X509NameType", CG_EXPR_T_NAMETYPE },
	{ "System.Security.Cryptography.X509Certificates.X509NameType", CG_EXPR_T_NAMETYPE },
};

struct cg_expr_type cg_expr_ty_lookup(struct cg_str name)
{
	for (size_t k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++)
		if (cg_str_eq(name, cg_str_from_c(type_names[k].name)))
			return cg_expr_ty(type_names[k].id);
	return cg_expr_ty(CG_EXPR_T_ERROR);
}

/* Types a policy author may name that certgate does not provide: those APIM
 * forbids (error text identical to APIM's), and those APIM allows but
 * certgate has not implemented yet (a distinct message, so nobody mistakes
 * a gap in certgate for an APIM rule). */
static const struct {
	const char *name;
	const char *full;
	bool apim_allows;
} foreign[] = {
	{ "Environment", "System.Environment", false },
	{ "File", "System.IO.File", false },
	{ "Directory", "System.IO.Directory", false },
	{ "Path", "System.IO.Path", false },
	{ "Console", "System.Console", false },
	{ "Process", "System.Diagnostics.Process", false },
	{ "Thread", "System.Threading.Thread", false },
	{ "Task", "System.Threading.Tasks.Task", false },
	{ "Activator", "System.Activator", false },
	{ "AppDomain", "System.AppDomain", false },
	{ "Type", "System.Type", false },
	{ "Assembly", "System.Reflection.Assembly", false },
	{ "GC", "System.GC", false },
	{ "CultureInfo", "System.Globalization.CultureInfo", false },
	{ "HttpClient", "System.Net.Http.HttpClient", false },
	{ "WebClient", "System.Net.WebClient", false },
	{ "X509Store", "System.Security.Cryptography.X509Certificates.X509Store", false },
	{ "X509Chain", "System.Security.Cryptography.X509Certificates.X509Chain", false },
	{ "X509Extension", "System.Security.Cryptography.X509Certificates.X509Extension", false },
	{ "FormatException", "System.FormatException", true },
	{ "ArgumentException", "System.ArgumentException", true },
	{ "InvalidOperationException", "System.InvalidOperationException", true },
	{ "NullReferenceException", "System.NullReferenceException", true },
	{ "float", "System.Single", true },
	{ "Single", "System.Single", true },
	{ "uint", "System.UInt32", true },
	{ "ulong", "System.UInt64", true },
	{ "short", "System.Int16", true },
	{ "Enumerable", "System.Linq.Enumerable", true },
	{ "XElement", "System.Xml.Linq.XElement", true },
	{ "XDocument", "System.Xml.Linq.XDocument", true },
	{ "DateTimeKind", "System.DateTimeKind", true },
};

const char *cg_expr_ty_foreign(struct cg_str name, bool *allowed_by_apim)
{
	for (size_t k = 0; k < sizeof(foreign) / sizeof(foreign[0]); k++) {
		struct cg_str full = cg_str_from_c(foreign[k].full);
		if (cg_str_eq(name, cg_str_from_c(foreign[k].name)) || cg_str_eq(name, full)) {
			*allowed_by_apim = foreign[k].apim_allows;
			return foreign[k].full;
		}
	}
	/* Any other System.* name: APIM's allow-list does not have it. */
	if (cg_str_has_prefix(name, CG_STR("System."))) {
		*allowed_by_apim = false;
		return NULL;
	}
	return NULL;
}
