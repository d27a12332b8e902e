"""The tenant's standing extraction instructions: what every consolidation of the
tenant should remember and ignore. A request's own ``instructions`` follow them."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from memory_service.requests.call import Call
from memory_service.requests.fields import Strict, non_blank
from memory_service.requests.inputs import Instructions

DESCRIPTION = (
    "what to remember and what to ignore, in words (e.g. 'Remember food preferences and "
    "allergies; ignore small talk'), for every consolidation of the tenant; null: none. "
    "Followed only when the service runs with an LLM (MEMORY_LLM_MODEL): the local "
    "extractor cannot read free text"
)


class InstructionsIn(Strict):
    instructions: Instructions | None = Field(description=DESCRIPTION)

    @field_validator("instructions")
    @classmethod
    def _instructions(cls, value: str | None) -> str | None:
        return None if value is None else non_blank(value)


class InstructionsOut(BaseModel):
    instructions: str | None = Field(description=DESCRIPTION)


async def get_instructions(call: Call) -> InstructionsOut:
    return InstructionsOut(instructions=await call.uow.tenants.instructions(call.tenant))


async def set_instructions(call: Call, body: InstructionsIn) -> InstructionsOut:
    await call.uow.tenants.set_instructions(call.tenant, body.instructions)
    return InstructionsOut(instructions=body.instructions)
