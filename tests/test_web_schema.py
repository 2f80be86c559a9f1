"""Property-based API test against the app's own OpenAPI schema (schemathesis): generated requests, valid
and invalid, must never get a server error, schema-invalid ones must be rejected with a 4xx, and every answer
must match the documented responses.  (Schema-valid requests may still be 422: most parameters are free text
checked by the library, e.g. a model name or a quant the engine cannot load.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from rigfit.web.app import LOOPBACK_HOSTS, create_app

schemathesis = pytest.importorskip("schemathesis")
# the ASGI client calls itself "testserver"
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(allowed_hosts=(*LOOPBACK_HOSTS, "testserver")))


pytestmark = pytest.mark.slow  # schemathesis over every operation


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_never_errors(case: schemathesis.Case) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    case.call_and_validate(checks=[not_a_server_error, negative_data_rejection, status_code_conformance,
                                   content_type_conformance, response_schema_conformance])
