import { IsocellRequestError, requestAPI } from '../request';
import { MockServer, rejection } from './server';

describe('requestAPI', () => {
  let server: MockServer;
  beforeEach(() => {
    server = new MockServer();
  });

  it('joins the path under the base URL and returns the JSON answer', async () => {
    server.on('GET envs', { json: { environments: [] } });
    const answer = await requestAPI('envs', {}, server.settings);
    expect(answer).toEqual({ environments: [] });
    expect(server.requests).toEqual([
      { method: 'GET', path: 'envs', body: undefined }
    ]);
  });

  it('sends the body of a POST', async () => {
    server.on('POST envs', { status: 202, json: { task: { id: 'x' } } });
    await requestAPI(
      'envs',
      { method: 'POST', body: '{"name":"a"}' },
      server.settings
    );
    expect(server.requests[0].body).toEqual({ name: 'a' });
  });

  it('returns null for 204 No Content', async () => {
    server.on('DELETE envs/a', { status: 204 });
    await expect(
      requestAPI('envs/a', { method: 'DELETE' }, server.settings)
    ).resolves.toBeNull();
  });

  it("raises the server's message with the status and the body's fields", async () => {
    server.on('POST export', {
      status: 400,
      json: { message: 'cannot export: cell 2: no', cell: 2, line: 1 }
    });
    const error = await rejection(
      requestAPI('export', { method: 'POST' }, server.settings)
    );
    expect(error).toBeInstanceOf(IsocellRequestError);
    expect(error.message).toBe('cannot export: cell 2: no');
    expect(error.status).toBe(400);
    expect(error.body).toMatchObject({ cell: 2, line: 1 });
  });

  it('says the server extension may be missing on an HTML 404', async () => {
    const error = await rejection(requestAPI('nothing', {}, server.settings));
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/isocell\.server.*enabled/);
  });

  it('names the status when an error has no JSON message', async () => {
    server.on('GET envs', { status: 502, text: 'Bad gateway' });
    const error = await rejection(requestAPI('envs', {}, server.settings));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/502/);
  });

  it('fails clearly when a success is not JSON', async () => {
    server.on('GET envs', { text: '<html>' });
    const error = await rejection(requestAPI('envs', {}, server.settings));
    expect(error).toBeInstanceOf(IsocellRequestError);
    expect(error.message).toMatch(/not JSON/);
  });

  it('reports an unreachable server with status 0', async () => {
    server.down = true;
    const error = await rejection(requestAPI('envs', {}, server.settings));
    expect(error).toBeInstanceOf(IsocellRequestError);
    expect(error.status).toBe(0);
    expect(error.message).toMatch(/Cannot reach/);
  });
});
