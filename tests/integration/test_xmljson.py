"""APIM's json-to-xml and xml-to-json policies end to end, with the real
binary, real TLS and curl: a JSON request reaches a SOAP-style backend as
XML, its XML answer reaches the client as JSON (or stays XML when the
client's Accept asks for XML), XXE and billion-laughs payloads are refused
on both sides, and bodies over --max-buffered-body are refused with the
buffering limit's statuses."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

MAX = 65536

SOAP = """<policies><inbound><base />
  <json-to-xml apply="content-type-json" consider-accept-header="false" parse-date="false"
      namespace-separator=":" namespace-prefix="xmlns" attribute-block-name="#attrs" />
</inbound><backend><base /></backend><outbound><base />
  <xml-to-json kind="direct" apply="content-type-xml" />
</outbound><on-error><base /></on-error></policies>"""

# An XML client in front of a JSON backend: the other direction.
XMLIN = """<policies><inbound><base />
  <xml-to-json kind="javascript-friendly" apply="always" consider-accept-header="false" />
</inbound><backend><base /></backend><outbound><base />
  <json-to-xml apply="always" consider-accept-header="false" />
</outbound><on-error><base /></on-error></policies>"""

SOAP_ANSWER = (b'<?xml version="1.0" encoding="utf-8"?>\n'
               b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
               b'<soap:Body><r><item id="1">a &amp; b</item><item id="2">\xc3\xa9</item><empty/></r>'
               b'</soap:Body></soap:Envelope>')

XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>')
LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b''.join(b'<!ENTITY lol%d "%s">' % (i, (b'&lol%d;' % (i - 1) if i > 1 else b'&lol;') * 10)
                     for i in range(1, 10))
          + b']><lolz>&lol9;</lolz>')


def handler(req):
    if req.target.startswith("/soap/xxe"):
        return cgtest.BResp(200, XXE, [("Content-Type", "application/xml")])
    if req.target.startswith("/soap/grow"):  # 60 kB of XML, 75 kB as JSON
        return cgtest.BResp(200, b"<r>" + b"<i/>" * 15000 + b"</r>", [("Content-Type", "application/xml")])
    if req.target.startswith("/soap/huge"):  # over --max-buffered-body itself
        return cgtest.BResp(200, b"<r>" + b"<i>x</i>" * 10000 + b"</r>", [("Content-Type", "application/xml")])
    if req.target.startswith("/soap/"):
        return cgtest.BResp(200, SOAP_ANSWER, [("Content-Type", "text/xml; charset=utf-8")])
    return cgtest.echo_handler(req)


class XmlJson(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend(handler)
        g = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "soap", "path": "soap", "backend": cls.b.url("/soap")},
                  {"id": "xmlin", "path": "xmlin", "backend": cls.b.url("/echo")}],
            serve_args=["--max-buffered-body", str(MAX)])
        g.set_policy(SOAP, "--api", "soap")
        g.set_policy(XMLIN, "--api", "xmlin")
        cls.gateways.append(g)
        g.start()
        cls.gw = g

    def post(self, path, body, ctype, accept=None):
        h = ["Content-Type: " + ctype]
        if accept:
            h.append("Accept: " + accept)
        return self.gw.curl(path, data=body, headers=h)

    def test_json_request_reaches_the_backend_as_xml(self):
        self.b.reset(handler)
        body = json.dumps({"soapenv:Envelope": {
            "xmlns:soapenv": "http://schemas.xmlsoap.org/soap/envelope/",
            "xmlns:v1": "http://localdomain.com/core/v1",
            "soapenv:Header": {},
            "soapenv:Body": {"v1:QueryList": {"#attrs": {"queryName": "test"},
                                              "v1:QueryItem": {"name": "dummy <text> & \u00e9"}}}}})
        for extra in ([], ["Transfer-Encoding: chunked"]):
            r = self.gw.curl("/soap/x", data=body.encode(),
                             headers=["Content-Type: application/json", "Accept: application/json"] + extra)
            self.assertEqual(r.status, 200, r)
            got = self.b.last()
            want = ('<?xml version="1.0" encoding="utf-8"?>\n'
                    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                    'xmlns:v1="http://localdomain.com/core/v1"><soapenv:Header/><soapenv:Body>'
                    '<v1:QueryList queryName="test"><v1:QueryItem><name>dummy &lt;text&gt; &amp; \u00e9</name>'
                    '</v1:QueryItem></v1:QueryList></soapenv:Body></soapenv:Envelope>\n').encode()
            self.assertEqual(got.body, want)
            self.assertEqual(got.headers.get("Content-Type"), "application/xml")
            self.assertEqual(got.headers.get("Content-Length"), str(len(want)))
            self.assertIsNone(got.headers.get("Transfer-Encoding"))

    def test_xml_response_reaches_the_client_as_json(self):
        r = self.post("/soap/x", b"{}", "application/json", accept="application/json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(r.headers.get("Content-Length"), str(len(r.body)))
        self.assertEqual(json.loads(r.body), {
            "?xml": {"@version": "1.0", "@encoding": "utf-8"},
            "soap:Envelope": {"@xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/",
                              "soap:Body": {"r": {"item": [{"@id": "1", "#text": "a & b"},
                                                           {"@id": "2", "#text": "\u00e9"}],
                                                  "empty": None}}}})
        # no Accept header (curl sends */*): converted too
        r = self.gw.curl("/soap/x", data=b"{}", headers=["Content-Type: application/json", "Accept:"])
        self.assertEqual(r.headers.get("Content-Type"), "application/json", r)

    def test_consider_accept_header_keeps_xml_for_an_xml_client(self):
        for accept in ("application/xml", "text/xml", "application/json;q=0, text/xml"):
            r = self.post("/soap/x", b"{}", "application/json", accept=accept)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, SOAP_ANSWER)
            self.assertEqual(r.headers.get("Content-Type"), "text/xml; charset=utf-8")

    def test_a_request_without_json_content_type_is_forwarded_as_is(self):
        self.b.reset(handler)
        r = self.post("/soap/x", b"<already>xml</already>", "application/xml", accept="application/xml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.b.last().body, b"<already>xml</already>")
        self.assertEqual(self.b.last().headers.get("Content-Type"), "application/xml")

    def test_xml_request_and_json_response_the_other_way(self):
        self.b.reset(handler)
        r = self.post("/xmlin/x", b'<order id="7"><line>1</line><line>2</line></order>', "application/xml")
        self.assertEqual(r.status, 200, r)
        got = self.b.last()
        self.assertEqual(got.body, b'{"order":{"@id":"7","line":["1","2"]}}')
        self.assertEqual(got.headers.get("Content-Type"), "application/json")
        # the echo backend's JSON answer comes back as XML
        self.assertEqual(r.headers.get("Content-Type"), "application/xml")
        self.assertTrue(r.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<Document><method>POST</method>'),
                        r.body[:200])

    def test_invalid_json_is_refused_with_its_position(self):
        self.b.reset(handler)
        r = self.post("/soap/x", b'{"a":\n  tru}', "application/json")
        self.assertEqual(r.status, 400, r)
        self.assertApimError(400, r.body, r.headers,
                             message="json-to-xml could not convert the request body: 2:5: invalid token near 'tru'")
        self.assertEqual(self.b.count(), 0)

    def test_xxe_and_billion_laughs_are_refused(self):
        self.b.reset(handler)
        for payload, pos in ((XXE, "2:13"), (LAUGHS, "1:16")):
            r = self.post("/xmlin/x", payload, "application/xml")
            self.assertEqual(r.status, 400, r)
            self.assertApimError(400, r.body, r.headers,
                                 message="xml-to-json could not convert the request body: %s: "
                                         "A DOCTYPE is not allowed (DTDs and entities are refused)" % pos)
            self.assertNotIn(b"root:", r.body)
        self.assertEqual(self.b.count(), 0)
        # from the backend: 502, nothing of the payload reaches the client
        r = self.post("/soap/xxe", b"{}", "application/json", accept="application/json")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)
        self.assertNotIn(b"passwd", r.body)

    def test_bodies_over_the_buffering_limit(self):
        self.b.reset(handler)
        # the request itself is over --max-buffered-body: 413 before any policy
        big = json.dumps({"a": ["x" * 100] * 700}).encode()
        self.assertGreater(len(big), MAX)
        r = self.post("/soap/x", big, "application/json")
        self.assertEqual(r.status, 413, r)
        self.assertEqual(self.b.count(), 0)
        # under the limit, but its XML is over it: 413 BodyTooLarge
        grows = json.dumps({"r": {"a": [1] * 12000}}).encode()
        self.assertLess(len(grows), MAX)
        r = self.post("/soap/x", grows, "application/json")
        self.assertEqual(r.status, 413, r)
        self.assertApimError(413, r.body, r.headers)
        self.assertEqual(self.b.count(), 0)
        # the backend's XML answer converts to JSON over the limit: 502;
        # an answer over the limit itself: 502 too (buffering)
        for path in ("/soap/grow", "/soap/huge"):
            r = self.post(path, b"{}", "application/json", accept="application/json")
            self.assertEqual(r.status, 502, r)
            self.assertApimError(502, r.body, r.headers)


if __name__ == "__main__":
    cgtest.main()
