import { Decoder, PacketType } from 'socket.io-parser';
import { handshakeParser, isUnreadableAuth } from './handshake-parser';

/** What a decoder makes of `text`: its packet, or the error it throws. */
function decode(make: () => Decoder, text: string): unknown {
  const decoder = make();
  let packet: unknown;
  decoder.on('decoded', (decoded: unknown) => (packet = decoded));
  try {
    decoder.add(text);
  } catch (error) {
    return { threw: (error as Error).message };
  }
  return packet;
}

describe('handshakeParser', () => {
  it('when a CONNECT carries an object, nothing, or an ack id, or the packet is no CONNECT, then it is decoded as the default parser decodes it', () => {
    for (const text of ['0', '0{"token":"ak_x"}', '0/admin,{"token":"ak_x"}', '0/admin', '012', '0 {"token":"ak_x"}', '2["subscribe",{"jobId":"x"}]', '21["x"]', '1', '2"not an event"']) {
      expect({ text, packet: decode(() => new handshakeParser.Decoder(), text) }).toEqual({ text, packet: decode(() => new Decoder(), text) });
    }
  });

  it('when a CONNECT carries no object (which the default parser throws on), then it is a CONNECT to its namespace whose auth is marked unreadable', () => {
    for (const [text, nsp] of [['0"ak_x"', '/'], ['0-1', '/'], ['0true', '/'], ['0null', '/'], ['0[1]', '/'], ['0{"token":', '/'], ['0/admin,"ak_x"', '/admin'], ['01"ak_x"', '/']]) {
      expect(decode(() => new Decoder(), text)).toEqual({ threw: 'invalid payload' });
      const packet = decode(() => new handshakeParser.Decoder(), text) as { type: number; nsp: string; data: unknown };
      expect({ text, type: packet.type, nsp: packet.nsp, unreadable: isUnreadableAuth(packet.data) }).toEqual({ text, type: PacketType.CONNECT, nsp, unreadable: true });
    }
    expect(isUnreadableAuth({ token: 'ak_x' })).toBe(false);
  });
});
