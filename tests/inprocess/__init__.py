"""The clients and the batch in this process, on scripted transports (httpx.MockTransport)."""
