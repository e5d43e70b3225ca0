/* The .NET view of X.509 certificates, and distinguished-name text.
 *
 * What APIM policies see as context.Request.Certificate and the values of
 * context.Deployment.Certificates (X509Certificate2), and the DN claims of
 * validate-client-certificate. Formats follow .NET/Windows byte for byte;
 * docs/x509.md has the rules and examples.
 *
 * Cost: decoding a certificate with OpenSSL 3.0 costs ~170 us, so nothing
 * here decodes DER twice. cg_x509_thumbprint_der hashes DER without parsing
 * (an allow-list check needs nothing else). A view is built eagerly, once
 * per certificate, and cached by the caller (the snapshot for uploaded
 * certificates, a per-worker cache keyed by thumbprint for client ones). */
#ifndef CG_TLS_X509_H
#define CG_TLS_X509_H

#include "base/arena.h"
#include "tls/x509-t.h"

/* Uppercase hex SHA-1 / SHA-256 of der[0..len). Accepts any bytes (no
 * parsing). out is NUL-terminated; on a digest failure (never expected)
 * out is "". */
void cg_x509_thumbprint_der(const unsigned char *der, size_t len, char out[CG_X509_SHA1_HEX_LEN]);
void cg_x509_sha256_der(const unsigned char *der, size_t len, char out[CG_X509_SHA256_HEX_LEN]);

/* Builds the view of x. x is borrowed: the view takes its own reference
 * (X509_up_ref), dropped when arena a is reset or destroyed. Everything
 * the view points to lives in a. Refuses names, values or DER over the
 * CG_X509_MAX_* limits, and unreadable validity dates. Returns 0 and sets
 * *out, or -1 with a message in err (then *out is NULL; memory already
 * taken from a stays there until a is reset). */
int cg_x509_view_new(X509 *x, struct cg_arena *a, struct cg_x509 **out, char *err, size_t errlen);

/* Decodes one DER certificate (exactly: trailing bytes are refused) and
 * builds its view. Errors: "empty DER", "DER larger than 65536 bytes",
 * "invalid DER certificate", "trailing bytes after DER certificate". */
int cg_x509_view_from_der(const unsigned char *der, size_t len, struct cg_arena *a,
			  struct cg_x509 **out, char *err, size_t errlen);

/* Decodes the first PEM "CERTIFICATE" block of pem and builds its view.
 * Errors: "empty PEM", "PEM larger than 262144 bytes", "no PEM certificate
 * found", "invalid PEM certificate" (truncated or corrupt base64/DER). */
int cg_x509_view_from_pem(struct cg_str pem, struct cg_arena *a, struct cg_x509 **out,
			  char *err, size_t errlen);

/* Renders name in .NET X500 form (X500DistinguishedName.Name): RDNs in
 * reverse of encoded order, ", " between RDNs, " + " inside a multi-valued
 * RDN, Windows key names, CertNameToStr quoting. The result lives in a.
 * Refuses more than CG_X509_MAX_RDNS RDNs, CG_X509_MAX_RDN_VALUES values
 * in one RDN, or a result over CG_X509_MAX_NAME_LEN bytes. */
int cg_x509_name_to_dotnet(const X509_NAME *name, struct cg_arena *a, struct cg_str *out,
			   char *err, size_t errlen);

/* The Windows X500 key for an attribute NID ("CN", "S", "E", "PostalCode"),
 * or an empty slice when Windows has none (then .NET prints "OID.x.y.z"). */
struct cg_str cg_x509_dotnet_key(int nid);

/* An attribute value as .NET shows it, in UTF-8. Text string types are
 * converted (BMPString from UTF-16, UniversalString from UCS-4, T61String
 * as UTF-8 or else Latin-1, invalid UTF-8 as U+FFFD) and trailing NULs are
 * dropped. Other types become "#" and uppercase hex of their DER encoding
 * (of the contents only for an OCTET STRING); *binary is then true (.NET
 * never quotes those). Refuses values over CG_X509_MAX_VALUE_LEN bytes. */
int cg_x509_value_to_utf8(const ASN1_STRING *v, struct cg_arena *a, struct cg_str *out,
			  bool *binary, char *err, size_t errlen);

/* GetNameInfo(type, forIssuer); "" when there is nothing (never NULL). */
struct cg_str cg_x509_get_name_info(const struct cg_x509 *c, enum cg_x509_name_type type, bool for_issuer);

/* Claim checks for validate-client-certificate identities. Each is a
 * plain comparison against the view; none allocates.
 *
 * thumbprint: 40 hex digits, case-insensitive (APIM matches lowercase
 * claims); anything else never matches.
 * serial-number: hex digits compared case-insensitively after dropping
 * ' ', ':' and '-' separators and leading zeros on both sides (so "A5",
 * "00a5" and "00:A5" name the serial .NET shows as "00A5"); a claim with
 * no hex digit or another character never matches.
 * common-name: equals the most specific CN (the first in Subject), byte
 * for byte after decoding.
 * dns-name: equals one of the subjectAltName dNSNames, ASCII
 * case-insensitive, literally (a "*.contoso.com" SAN matches only the
 * claim "*.contoso.com"). */
bool cg_x509_thumbprint_matches(const struct cg_x509 *c, struct cg_str claim);
bool cg_x509_serial_matches(const struct cg_x509 *c, struct cg_str claim);
bool cg_x509_common_name_matches(const struct cg_x509 *c, struct cg_str claim);
bool cg_x509_dns_name_matches(const struct cg_x509 *c, struct cg_str claim);

/* Parses DN text as users write it in validate-client-certificate
 * (subject, issuer-subject): "CN=x, OU=y, O=\"Contoso, Inc.\", L=Chicago,
 * ST=Illinois, C=US" in either order; "," or ";" between RDNs; "+" inside
 * a multi-valued RDN; values in "..." with "" for an embedded quote;
 * spaces around keys and unquoted values ignored; keys case-insensitive
 * with aliases (ST=S, E=EMAIL=EMAILADDRESS, ...), "OID.2.5.4.3" or
 * "2.5.4.3". Refuses empty text, unknown keys, empty RDNs, a trailing
 * separator, a '"' inside an unquoted value, text over CG_DN_MAX_TEXT, and
 * more RDNs/values than the limits. Errors read "dn:LINE:COL: what"
 * (columns count bytes from 1). The result lives in a. */
int cg_dn_parse(struct cg_str text, struct cg_arena *a, struct cg_dn **out, char *err, size_t errlen);

/* True when have holds exactly the RDNs of want, in the same order or in
 * exactly the reverse order (a forward "C=US, O=x, CN=y" or .NET's "CN=y,
 * O=x, C=US"); never an arbitrary shuffle. Each RDN must hold the same set
 * of (type, value) pairs (order inside a multi-valued RDN is free). Values
 * compare byte for byte (case-sensitive) after the text side's unquoted
 * trimming; attributes whose value .NET shows as "#hex" never match.
 * NULL arguments never match. */
bool cg_dn_matches(const struct cg_dn *want, const X509_NAME *have);

/* Renders a parsed DN in .NET X500 style (Windows keys, quoting, ", ",
 * " + "), in the order written. Used in messages. The result lives in a;
 * an empty slice on out of memory. */
struct cg_str cg_dn_to_dotnet(const struct cg_dn *dn, struct cg_arena *a);

#endif
