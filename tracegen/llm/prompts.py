"""How a Request becomes a prompt, for chat and completions endpoints alike (one place, also the cache key).

`render` returns the keyword arguments of the endpoint call: `{"messages": [...]}` for chat, or
`{"prompt": str, "stop": [...]}` for completions. Prefix mode asks for the continuation of a partial
gold solution; `clean` turns what the model wrote into a Sample's text.
"""

from __future__ import annotations

from tracegen.llm.base import Request

SYSTEM = (
    "Solve the math word problem step by step. Write one step per line. You may show a calculation "
    "as a calculator annotation such as <<48/2=24>>. End with a last line '#### <answer>' where "
    "<answer> is the final number only."
)
CONTINUE_PREFILLED = "Your answer starts with a partial solution; continue it from where it stops."
CONTINUE_QUOTED = (
    "Here is the start of a solution:\n\n{prefix}\n\nContinue it from where it stops. Write only the "
    "remaining lines, not the lines above."
)
COMPLETION_STOP = ["\nQuestion:"]  # a base model goes on to invent the next question


def render(request: Request, endpoint: str, prefill: bool) -> dict:
    """The endpoint call's arguments. With `prefill` the partial solution is the assistant's message to continue."""
    if request.task == "judge":  # a prompt of its own (tracegen.verifiers.critic): no solving instructions
        return (
            {"prompt": request.question}
            if endpoint == "completions"
            else {"messages": [{"role": "user", "content": request.question}]}
        )
    if endpoint == "completions":
        answer = f" {request.prefix}" if request.prefix else ""
        return {"prompt": f"Question: {request.question}\nAnswer:{answer}", "stop": COMPLETION_STOP}
    messages = [{"role": "system", "content": SYSTEM}]
    if not request.prefix:
        messages.append({"role": "user", "content": request.question})
    elif prefill:
        messages.append({"role": "user", "content": f"{request.question}\n\n{CONTINUE_PREFILLED}"})
        messages.append({"role": "assistant", "content": request.prefix})
    else:
        messages.append(
            {
                "role": "user",
                "content": f"{request.question}\n\n{CONTINUE_QUOTED.format(prefix=request.prefix.strip())}",
            }
        )
    return {"messages": messages}


def continues_message(rendered: dict) -> bool:
    """Whether the rendered chat ends with an assistant message the model must continue (not answer)."""
    return "messages" in rendered and rendered["messages"][-1]["role"] == "assistant"


def clean(request: Request, text: str) -> str:
    """A whole solution without surrounding whitespace; a continuation such that prefix + continuation is
    the solution, without a restated prefix.

    Chat models asked to continue a quoted partial solution sometimes write it out again first.
    """
    if not request.prefix:
        return text.strip()
    restated = request.prefix.strip()
    if restated and text.lstrip().startswith(restated):
        text = text.lstrip()[len(restated) :]
        layout = request.prefix[len(request.prefix.rstrip()) :]  # the prefix's own line break, not written twice
        text = text.removeprefix(layout)
    return text.rstrip()
