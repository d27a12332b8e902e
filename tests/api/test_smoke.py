from httpx import AsyncClient


async def test_write_then_search(client: AsyncClient) -> None:
    r = await client.post(
        "/v1/messages",
        json={
            "user_id": "u1",
            "messages": [
                {"role": "user", "content": "I adopted a cat named Miso last week"},
                {"role": "assistant", "content": "Congratulations on the new pet!"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post("/v1/search", json={"user_id": "u1", "query": "cat named Miso"})
    assert r.status_code == 200, r.text
    print(r.json())
    assert r.json()["results"][0]["text"].startswith("I adopted")
