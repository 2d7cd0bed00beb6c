import { backendChangeMessageSchema } from './backend-changes';
import { parseChannelMessage } from './channel-message';
import { jobControlMessageSchema } from './job-control';

describe('parseChannelMessage', () => {
  it('when a message is JSON of its channel’s shape, then its data comes back; anything else is null', () => {
    const generationId = '7d3c1b4e-0000-4000-8000-000000000001';
    expect(parseChannelMessage(jobControlMessageSchema, JSON.stringify({ type: 'cancel', generationId }))).toEqual({ type: 'cancel', generationId });
    expect(parseChannelMessage(backendChangeMessageSchema, '{"type":"backend-changed","backendId":"abc"}')).toEqual({ type: 'backend-changed', backendId: 'abc' });
    expect(parseChannelMessage(jobControlMessageSchema, 'not json')).toBeNull();
    expect(parseChannelMessage(jobControlMessageSchema, JSON.stringify({ type: 'cancel', generationId: 'not-a-uuid' }))).toBeNull();
    expect(parseChannelMessage(backendChangeMessageSchema, JSON.stringify({ type: 'cancel', generationId }))).toBeNull();
  });
});
