"""Web pages in the user's browser cannot drive the emulator: a cross-site form POST and a
DNS-rebound host name are refused (emulator/access/browsers.py), while SDKs and the dashboard's
own requests pass."""

import http.client
import json
from urllib.parse import urlsplit

from emulator.access.browsers import foreign_page


def request(emulator, method, path, headers, body=b""):
    address = urlsplit(emulator.endpoint_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_cross_site_form_cannot_reset_the_emulator(clean_emulator):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="kept")
    status, body = request(clean_emulator, "POST", "/_emulator/reset",
                           {"Origin": "https://evil.example",
                            "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    assert json.loads(body)["__type"] == "AccessDeniedException"
    assert [c["clusterName"] for c in ecs.describe_clusters(clusters=["kept"])["clusters"]] == ["kept"]


def test_a_cross_site_page_cannot_call_the_aws_apis(clean_emulator):
    status, _ = request(clean_emulator, "POST", "/",
                        {"Origin": "http://evil.example:4566",
                         "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster",
                         "Content-Type": "application/x-amz-json-1.1"},
                        b'{"clusterName": "planted"}')
    assert status == 403
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def test_a_rebound_host_name_reads_no_control_endpoint(clean_emulator):
    status, _ = request(clean_emulator, "GET", "/_emulator/health",
                        {"Host": f"rebound.example:{urlsplit(clean_emulator.endpoint_url).port}"})
    assert status == 403
    status, _ = request(clean_emulator, "GET", "/_emulator/health", {})
    assert status == 200


def test_local_pages_and_sdks_pass():
    def environ(**headers):
        return {f"HTTP_{k.upper()}": v for k, v in headers.items()}

    assert foreign_page(environ(host="127.0.0.1:4566"), control=True) is None
    assert foreign_page(environ(host="localhost:4566", origin="http://localhost:3000"), True) is None
    assert foreign_page(environ(host="[::1]:4566", origin="http://[::1]:4566"), True) is None
    assert foreign_page(environ(host="host.docker.internal:4566"), True) is None
    assert foreign_page(environ(host="app.localhost"), True) is None
    assert foreign_page(environ(host="bucket.s3.example.com"), control=False) is None
    assert foreign_page(environ(host="bucket.s3.example.com"), control=True) is not None
    assert foreign_page(environ(host="127.0.0.1", origin="https://site.example"), False)
