"""The HTTP stack's own cost: uvicorn as plan-kg runs it, answering every request with one fixed body.

`endpoint_bench.py` serves it beside the real servers as "HTTP floor". No Python server on this
stack (uvicorn with uvloop and httptools, one process) can answer faster than this app, which does
no work at all: it is the ceiling for plan-kg's throughput, measured in the same run.

    python benchmarks/http_floor.py BODY_FILE MEDIA_TYPE PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn


def main() -> None:
    body_file, media_type, port = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    body = body_file.read_bytes()
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", media_type.encode("latin-1")), (b"content-length", str(len(body)).encode())],
    }
    answer = {"type": "http.response.body", "body": body}

    async def app(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            await send(start)  # type: ignore[operator]
            await send(answer)  # type: ignore[operator]

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
                loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
