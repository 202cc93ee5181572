"""Connector specs before launch: a test-read of a spec (sent whole, or an integration's), nothing written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from ihub.api.deps import Db
from ihub.api.errors import answers
from ihub.api.security import operator
from models.errors import Invalid
from models.integrations import connector_spec, find_integration
from models.spec import ConnectorSpec, SpecError
from models.spec_hints import spec_yaml
from models.preview import Preview

router = APIRouter(prefix="/connectors", dependencies=[Depends(operator)], tags=["connectors"],
                   responses=answers(401, 403, 404, 422))


class TestRead(BaseModel):
    spec: dict[str, Any] | None = Field(default=None, description="a connector spec, as its YAML file holds it")
    integration: str | None = Field(default=None, description="or customer/name of an integration, to read "
                                                              "with its stored spec")
    pages: int = Field(default=2, ge=1, le=20, description="how many pages to read")

    @model_validator(mode="after")
    def _one_source(self) -> TestRead:
        if (self.spec is None) == (self.integration is None):
            raise ValueError("give exactly one of spec and integration")
        return self


class TestReadResult(Preview):
    diff: str | None = Field(default=None, description="the suggestions as a unified diff of the spec's YAML")
    revised_spec: dict[str, Any] | None = Field(default=None, description="the spec with the suggestions made")


@router.post("/test", summary="Test-read a connector spec",
             description="Reads the first pages of the spec's endpoint and answers what a sync would make of "
                         "them: the requests (URLs without secrets), status and time of each, the records, the "
                         "mapped rows and rejections, the next page's request and why the paginator stops, and "
                         "suggested spec changes as a diff. Writes nothing. A vendor's failure is part of the "
                         "answer (`error`); a spec that cannot be used, or unknown credentials, is a 422.")
def test_read(body: TestRead, db: Db) -> TestReadResult:
    import yaml

    from tasks.authenticate import authenticate  # the run's machinery imports Prefect: only when a test is asked
    from tasks.preview import preview_spec, revision

    if body.spec is not None:
        try:
            spec = ConnectorSpec.parse(body.spec, source="spec")
        except SpecError as exc:
            raise Invalid(str(exc)) from None
        data, name = body.spec, "spec.yaml"
    else:
        spec = connector_spec(db, find_integration(db, body.integration))
        data, name = spec.document(), f"{body.integration}.yaml"
    preview = preview_spec(spec, authenticate.fn(spec.auth), pages=body.pages)
    result = TestReadResult(**preview.model_dump())
    revised = revision(spec_yaml(data), preview, name)
    if revised is not None:
        result.revised_spec, result.diff = yaml.safe_load(revised[0]), revised[1]
    return result
