/* Distinguished-name text as users write it in validate-client-certificate
 * claims (subject, issuer-subject), parsed into RDNs for the structural
 * comparison in x509.c (cg_dn_matches), and rendered back in .NET form for
 * messages.
 *
 * The grammar is CertStrToName's, which .NET's X500DistinguishedName(string)
 * follows: RDNs separated by ',' or ';', values of one multi-valued RDN by
 * '+', KEY=value with optional spaces around key and value, a value in
 * "..." with "" standing for one '"'. Where CertStrToName is lax we refuse,
 * because a claim that does not say what its author meant is a security
 * bug: no empty RDN, no trailing separator, no '"' inside an unquoted value.
 * The parser does one pass, allocates only the result, and is bounded by
 * CG_DN_MAX_TEXT, CG_X509_MAX_RDNS and CG_X509_MAX_RDN_VALUES. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/objects.h>

#include "tls/x509.h"

/* Keys accepted in text (case-insensitive): Windows' X500 keys, OpenSSL's
 * spellings and the long names people write. */
static const struct {
	const char *key;
	int nid;
} dn_keys[] = {
	{ "CN", NID_commonName },
	{ "COMMONNAME", NID_commonName },
	{ "L", NID_localityName },
	{ "LOCALITY", NID_localityName },
	{ "O", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "E", NID_pkcs9_emailAddress },
	{ "EMAIL", NID_pkcs9_emailAddress },
	{ "EMAILADDRESS", NID_pkcs9_emailAddress },
	{ "C", NID_countryName },
	{ "S", NID_stateOrProvinceName },
	{ "ST", NID_stateOrProvinceName },
	{ "STREET", NID_streetAddress },
	{ "T", NID_title },
	{ "TITLE", NID_title },
	{ "G", NID_givenName },
	{ "GN", NID_givenName },
	{ "GIVENNAME", NID_givenName },
	{ "I", NID_initials },
	{ "INITIALS", NID_initials },
	{ "SN", NID_surname },
	{ "SURNAME", NID_surname },
	{ "DC", NID_domainComponent },
	{ "SERIALNUMBER", NID_serialNumber },
	{ "DESCRIPTION", NID_description },
	{ "POSTALCODE", NID_postalCode },
	{ "POBOX", NID_postOfficeBox },
	{ "PHONE", NID_telephoneNumber },
	{ "X21ADDRESS", NID_x121Address },
	{ "DNQUALIFIER", NID_dnQualifier },
	{ "UID", NID_userId },
};

struct parser {
	struct cg_str text;
	size_t pos;
	struct cg_arena *a;
	char *err;
	size_t errlen;
};

static int perr(struct parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t at, const char *fmt, ...)
{
	size_t line = 1, col = 1;
	for (size_t i = 0; i < at && i < p->text.len; i++) {
		if (p->text.ptr[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (!p->err || !p->errlen)
		return -1;
	int n = snprintf(p->err, p->errlen, "dn:%zu:%zu: ", line, col);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->text.len && is_ws(p->text.ptr[p->pos]))
		p->pos++;
}

static bool at_end(const struct parser *p)
{
	return p->pos >= p->text.len;
}

static char cur(const struct parser *p)
{
	return p->text.ptr[p->pos];
}

static bool is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_';
}

/* Describes a character for an error message ("','", "end of text"). */
static const char *chdesc(char c, char buf[8])
{
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02X", (unsigned char)c);
	return buf;
}

/* A dotted OID: two or more arcs, first arc 0-2, no empty arc, no leading
 * zero (so that one OID has one spelling and compares as text). */
static bool valid_oid(struct cg_str s)
{
	if (s.len == 0 || s.len > CG_X509_MAX_OID_LEN || s.ptr[0] < '0' || s.ptr[0] > '2')
		return false;
	size_t arcs = 0, digits = 0;
	for (size_t i = 0; i <= s.len; i++) {
		if (i == s.len || s.ptr[i] == '.') {
			if (digits == 0)
				return false;
			arcs++;
			digits = 0;
		} else if (s.ptr[i] >= '0' && s.ptr[i] <= '9') {
			if (digits == 1 && s.ptr[i - 1] == '0')
				return false;
			digits++;
		} else {
			return false;
		}
	}
	return arcs >= 2;
}

static int resolve_key(struct parser *p, size_t at, struct cg_str key, struct cg_dn_ava *ava)
{
	for (size_t i = 0; i < sizeof(dn_keys) / sizeof(dn_keys[0]); i++) {
		if (cg_str_ieq(key, cg_str_from_c(dn_keys[i].key))) {
			char buf[CG_X509_MAX_OID_LEN + 1];
			int n = OBJ_obj2txt(buf, sizeof(buf), OBJ_nid2obj(dn_keys[i].nid), 1);
			if (n <= 0 || (size_t)n >= sizeof(buf))
				return perr(p, at, "attribute type '%.*s' unavailable", CG_STR_FMT(key));
			ava->nid = dn_keys[i].nid;
			ava->oid = cg_arena_strdup_str(p->a, cg_str_make(buf, (size_t)n));
			if (!ava->oid.ptr)
				return perr(p, at, "out of memory");
			return 0;
		}
	}
	struct cg_str oid = key;
	if (key.len > 4 && cg_str_ieq(cg_str_sub(key, 0, 4), CG_STR("OID.")))
		oid = cg_str_sub(key, 4, key.len - 4);
	if (oid.len && oid.ptr[0] >= '0' && oid.ptr[0] <= '9') {
		if (!valid_oid(oid))
			return perr(p, at, "invalid OID '%.*s'", CG_STR_FMT(oid));
		/* NUL-terminated copy for OpenSSL. */
		char *z = cg_arena_strndup(p->a, oid.ptr, oid.len);
		if (!z)
			return perr(p, at, "out of memory");
		ava->nid = OBJ_txt2nid(z);
		ava->oid = cg_str_make(z, oid.len);
		return 0;
	}
	return perr(p, at, "unknown attribute type '%.*s'", CG_STR_FMT(key));
}

static int parse_value(struct parser *p, struct cg_dn_ava *ava)
{
	char buf[8];
	size_t start = p->pos;
	if (!at_end(p) && cur(p) == '"') {
		char *v = cg_arena_alloc(p->a, p->text.len - p->pos + 1);
		size_t n = 0;
		if (!v)
			return perr(p, start, "out of memory");
		p->pos++;
		for (;;) {
			if (at_end(p))
				return perr(p, start, "unterminated quoted value");
			char c = cur(p);
			if ((unsigned char)c < 0x20 && !is_ws(c))
				return perr(p, p->pos, "control character %s in value", chdesc(c, buf));
			p->pos++;
			if (c == '"') {
				if (!at_end(p) && cur(p) == '"') {
					p->pos++;
				} else {
					break;
				}
			}
			v[n++] = c;
		}
		if (n > CG_X509_MAX_VALUE_LEN)
			return perr(p, start, "value longer than %d bytes", CG_X509_MAX_VALUE_LEN);
		ava->value = cg_str_make(v, n);
		skip_ws(p);
		if (!at_end(p) && cur(p) != ',' && cur(p) != ';' && cur(p) != '+')
			return perr(p, p->pos, "unexpected %s after quoted value", chdesc(cur(p), buf));
		return 0;
	}
	size_t end = p->pos;
	while (!at_end(p)) {
		char c = cur(p);
		if (c == ',' || c == ';' || c == '+')
			break;
		if (c == '"')
			return perr(p, p->pos, "'\"' inside an unquoted value (quote the whole value)");
		if ((unsigned char)c < 0x20 && !is_ws(c))
			return perr(p, p->pos, "control character %s in value", chdesc(c, buf));
		p->pos++;
		if (!is_ws(c))
			end = p->pos;
	}
	if (end - start > CG_X509_MAX_VALUE_LEN)
		return perr(p, start, "value longer than %d bytes", CG_X509_MAX_VALUE_LEN);
	ava->value = cg_arena_strdup_str(p->a, cg_str_make(p->text.ptr + start, end - start));
	if (!ava->value.ptr)
		return perr(p, start, "out of memory");
	return 0;
}

static int parse_ava(struct parser *p, struct cg_dn_ava *ava, char after)
{
	char buf[8];
	skip_ws(p);
	size_t kstart = p->pos;
	while (!at_end(p) && is_key_char(cur(p)))
		p->pos++;
	if (p->pos == kstart) {
		if (at_end(p)) {
			if (after)
				return perr(p, p->pos, "expected attribute type after '%c'", after);
			return perr(p, p->pos, "expected attribute type");
		}
		return perr(p, p->pos, "expected attribute type, found %s", chdesc(cur(p), buf));
	}
	struct cg_str key = cg_str_make(p->text.ptr + kstart, p->pos - kstart);
	skip_ws(p);
	if (at_end(p))
		return perr(p, p->pos, "expected '=' after '%.*s'", CG_STR_FMT(key));
	if (cur(p) != '=')
		return perr(p, p->pos, "expected '=' after '%.*s', found %s", CG_STR_FMT(key), chdesc(cur(p), buf));
	if (resolve_key(p, kstart, key, ava) != 0)
		return -1;
	p->pos++;
	skip_ws(p);
	return parse_value(p, ava);
}

int cg_dn_parse(struct cg_str text, struct cg_arena *a, struct cg_dn **out, char *err, size_t errlen)
{
	struct parser p = { text, 0, a, err, errlen };
	*out = NULL;
	if (text.len > CG_DN_MAX_TEXT)
		return perr(&p, 0, "distinguished name longer than %d bytes", CG_DN_MAX_TEXT);
	skip_ws(&p);
	if (at_end(&p))
		return perr(&p, 0, "empty distinguished name");

	struct cg_dn *dn = cg_arena_zalloc(a, sizeof(*dn));
	struct cg_dn_rdn *rdns = cg_arena_alloc(a, sizeof(*rdns) * CG_X509_MAX_RDNS);
	struct cg_dn_ava avas[CG_X509_MAX_RDN_VALUES];
	if (!dn || !rdns)
		return perr(&p, 0, "out of memory");
	dn->rdns = rdns;

	char after = 0;
	for (;;) {
		size_t n = 0;
		skip_ws(&p);
		if (dn->num_rdns == CG_X509_MAX_RDNS)
			return perr(&p, p.pos, "more than %d RDNs", CG_X509_MAX_RDNS);
		for (;;) {
			if (n == CG_X509_MAX_RDN_VALUES)
				return perr(&p, p.pos, "more than %d values in one RDN", CG_X509_MAX_RDN_VALUES);
			if (parse_ava(&p, &avas[n], after) != 0)
				return -1;
			n++;
			if (at_end(&p) || cur(&p) != '+')
				break;
			after = '+';
			p.pos++;
		}
		struct cg_dn_ava *kept = cg_arena_alloc(a, sizeof(*kept) * n);
		if (!kept)
			return perr(&p, p.pos, "out of memory");
		memcpy(kept, avas, sizeof(*kept) * n);
		rdns[dn->num_rdns].avas = kept;
		rdns[dn->num_rdns].num_avas = n;
		dn->num_rdns++;
		if (at_end(&p))
			break;
		after = cur(&p); /* ',' or ';': parse_value stops nowhere else */
		p.pos++;
	}
	*out = dn;
	return 0;
}

static bool dn_needs_quoting(struct cg_str v)
{
	if (v.len == 0)
		return true;
	unsigned char f = (unsigned char)v.ptr[0], l = (unsigned char)v.ptr[v.len - 1];
	if (f == ' ' || (f >= 0x09 && f <= 0x0D) || l == ' ' || (l >= 0x09 && l <= 0x0D))
		return true;
	for (size_t i = 0; i < v.len; i++)
		if (strchr(",+=\"\n<>#;", v.ptr[i]) && v.ptr[i] != '\0')
			return true;
	return false;
}

struct cg_str cg_dn_to_dotnet(const struct cg_dn *dn, struct cg_arena *a)
{
	if (!dn)
		return CG_STR("");
	/* Size first, then write: one allocation in the arena. */
	size_t total = 0;
	for (int pass = 0; pass < 2; pass++) {
		char *buf = NULL;
		size_t n = 0;
		if (pass == 1) {
			buf = cg_arena_alloc(a, total + 1);
			if (!buf)
				return CG_STR("");
		}
#define PUT(s, l)                                        \
	do {                                             \
		if (buf)                                 \
			memcpy(buf + n, (s), (l));       \
		n += (l);                                \
	} while (0)
		for (size_t r = 0; r < dn->num_rdns; r++) {
			if (r)
				PUT(", ", 2);
			for (size_t i = 0; i < dn->rdns[r].num_avas; i++) {
				const struct cg_dn_ava *av = &dn->rdns[r].avas[i];
				struct cg_str key = cg_x509_dotnet_key(av->nid);
				if (i)
					PUT(" + ", 3);
				if (key.len) {
					PUT(key.ptr, key.len);
				} else {
					PUT("OID.", 4);
					PUT(av->oid.ptr, av->oid.len);
				}
				PUT("=", 1);
				if (!dn_needs_quoting(av->value)) {
					PUT(av->value.ptr, av->value.len);
					continue;
				}
				PUT("\"", 1);
				for (size_t k = 0; k < av->value.len; k++) {
					if (av->value.ptr[k] == '"')
						PUT("\"", 1);
					PUT(av->value.ptr + k, 1);
				}
				PUT("\"", 1);
			}
		}
#undef PUT
		if (pass == 0) {
			total = n;
		} else {
			buf[n] = '\0';
			return cg_str_make(buf, n);
		}
	}
	return CG_STR("");
}
