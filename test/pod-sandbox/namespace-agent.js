// The process that holds a pod sandbox's outer network and mount namespace (started by
// `unshare -m -n node namespace-agent.js <socket>`, see outer-namespace.ts). Plain JavaScript, so that
// it starts in a few tens of milliseconds without ts-node. It does three things, each one a TCP pipe:
//   - the test's way in: a connection to the Unix socket <socket> (a file: reachable from the
//     machine's network namespace) whose first line is "<address> <port>" is joined to that
//     address inside the sandbox;
//   - a Service: `{"op":"listen","id":..,"address":..,"port":..}` listens on a service address;
//     `{"op":"endpoints","id":..,"endpoints":[{"address":..,"port":..}]}` sets where each new
//     connection goes (round robin over the ready endpoints; none: the connection is reset, as a
//     ClusterIP without endpoints refuses it);
//   - a stand-in server of the test: `{"op":"listen",...,"socket":<path>}` joins each connection on
//     the sandbox address to the Unix socket the test's server listens on.
// Commands arrive as JSON lines on stdin; each is answered by a JSON line `{"id","ok"|"error"}`.
// The agent exits when its stdin closes (the test process is gone).
"use strict";
const net = require("net");
const readline = require("readline");

const [forwardSocket] = process.argv.slice(2);
const listeners = new Map();

// Each side's end is passed on (pipe ends the other side once its data is written); an error or a
// side that has closed for good ends both at once.
function pipe(client, target) {
  client.pipe(target);
  target.pipe(client);
  const destroy = () => {
    client.destroy();
    target.destroy();
  };
  client.on("error", destroy);
  target.on("error", destroy);
  client.on("close", destroy);
  target.on("close", () => {
    if (client.writableFinished || client.destroyed) client.destroy();
  });
}

const forwarder = net.createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(10);
    if (end < 0) {
      if (head.length > 512) client.destroy();
      return;
    }
    client.off("data", onData);
    client.pause();
    const [address, port] = head.subarray(0, end).toString("utf8").trim().split(" ");
    const rest = head.subarray(end + 1);
    const target = net.connect({ host: address, port: Number(port) });
    if (rest.length > 0) target.write(rest);
    pipe(client, target);
    client.resume();
  };
  client.on("data", onData);
  client.on("error", () => client.destroy());
});

function listen(command) {
  const entry = { endpoints: [], next: 0, server: undefined };
  entry.server = net.createServer((client) => {
    let target;
    if (command.socket) {
      target = net.connect({ path: command.socket });
    } else {
      if (entry.endpoints.length === 0) {
        client.resetAndDestroy();
        return;
      }
      const endpoint = entry.endpoints[entry.next++ % entry.endpoints.length];
      target = net.connect({ host: endpoint.address, port: endpoint.port });
    }
    pipe(client, target);
  });
  return new Promise((resolve, reject) => {
    entry.server.once("error", reject);
    entry.server.listen({ host: command.address, port: command.port }, () => {
      listeners.set(command.id, entry);
      resolve();
    });
  });
}

async function handle(command) {
  switch (command.op) {
    case "listen":
      if (listeners.has(command.id)) throw new Error(`listener ${command.id} exists`);
      return listen(command);
    case "endpoints": {
      const entry = listeners.get(command.id);
      if (!entry) throw new Error(`no listener ${command.id}`);
      entry.endpoints = command.endpoints;
      return;
    }
    case "close": {
      const entry = listeners.get(command.id);
      listeners.delete(command.id);
      entry?.server.close();
      return;
    }
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

forwarder.listen(forwardSocket, () => {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    let command;
    try {
      command = JSON.parse(line);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ error: `unparsable command: ${error.message}` })}\n`);
      return;
    }
    handle(command).then(
      () => process.stdout.write(`${JSON.stringify({ id: command.id, seq: command.seq, ok: true })}\n`),
      (error) => process.stdout.write(`${JSON.stringify({ id: command.id, seq: command.seq, error: error.message })}\n`),
    );
  });
  process.stdin.on("end", () => process.exit(0));
});
