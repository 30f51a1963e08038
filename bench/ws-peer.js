// ws-peer.js - the npm `ws` echo server bench/ws measures nxx against:
// every message back to its sender, no compression (as nxx is asked).
//   NODE_PATH=/usr/share/nodejs node bench/ws-peer.js PORT
const WebSocket = require('ws');
const port = parseInt(process.argv[2], 10);
const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, binary) => ws.send(data, { binary }));
});
wss.on('listening', () => console.error(`ws-peer: listening on http://127.0.0.1:${port}`));
