// An LwM2M 1.0 server built on lwm2m-node-lib's server API, for interoperability tests.
//
//   node server.js --peer DIR --port N --path /O/I/R [--write /O/I/R] [--execute /O/I/R]
//
// DIR is the npm prefix lwm2m-node-lib is installed under (DIR/node_modules). The server listens
// on 127.0.0.1:N (0: a free port, printed when listening). For every device that registers it
// Reads --path, Discovers it, Writes --write and Executes --execute (when given), then Observes
// --path. It prints one line per event on stdout, `event=NAME key=value ...`, values URI-encoded:
//
//   event=listening port=N
//   event=registered ep=E id=I address=A port=P
//   event=read ep=E value=V                 the Read's payload
//   event=discover ep=E links=L
//   event=write ep=E code=C                 C is 2.04 or the client's error code
//   event=execute ep=E code=C
//   event=observed ep=E value=V             the first value the library passes on (it skips an
//                                           Observe response numbered 0)
//   event=notify ep=E value=V               every notification after that
//   event=error ep=E op=OP code=C message=M
//   event=response ep=E code=C cf=F observe=O
//       every response datagram a registered device sends, raw from the server's socket (cf and
//       observe are "none" when absent)
//
// SIGTERM stops the server and exits 0 (at once with 1 if stopping does not finish within 2 s).
'use strict';

const path = require('path');

function parse_args(argv) {
  const args = {};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) {
      throw new Error('unexpected argument ' + argv[i]);
    }
    args[argv[i].substring(2)] = argv[i + 1];
  }
  for (const needed of ['peer', 'port', 'path']) {
    if (!args[needed]) {
      throw new Error('missing --' + needed);
    }
  }
  return args;
}

function parse_path(text) {
  const parts = text.split('/').filter((p) => p.length > 0);
  if (parts.length !== 3 || parts.some((p) => !/^[0-9]+$/.test(p))) {
    throw new Error('expected /O/I/R, got ' + text);
  }
  return parts;
}

function emit(name, fields) {
  let line = 'event=' + name;
  for (const [key, value] of Object.entries(fields)) {
    line += ' ' + key + '=' + encodeURIComponent(String(value));
  }
  process.stdout.write(line + '\n');
}

const args = parse_args(process.argv.slice(2));
const target = parse_path(args.path);
const write_target = args.write ? parse_path(args.write) : null;
const execute_target = args.execute ? parse_path(args.execute) : null;
const lib_dir = path.join(path.resolve(args.peer), 'node_modules', 'lwm2m-node-lib');
const lwm2m = require(lib_dir);
// coap-packet is the library's own CoAP parser (through coap); resolved from there, so it is the
// very version the library runs on.
const coap_dir = path.dirname(require.resolve('coap', {paths: [lib_dir]}));
const packet_parser = require(require.resolve('coap-packet', {paths: [coap_dir]}));
// The library listens on every interface; keep the server on loopback.
const coap = require(coap_dir);
const listen_any = coap.createServer.prototype.listen;
coap.createServer.prototype.listen = function (port, address, done) {
  return listen_any.call(this, port, '127.0.0.1', typeof address === 'function' ? address : done);
};
const server = lwm2m.server;

// The library makes a new Agent, with a random first Message ID, for every request, and they all
// reach the devices through the server's one socket: two requests to a device could share a
// Message ID, and the device would rightly answer the second from its duplicate cache
// (RFC 7252 4.5). One counter for the whole process keeps them apart.
let last_message_id = 0;
coap.Agent.prototype._nextMessageId = function () {
  last_message_id = (last_message_id % 65535) + 1;
  return last_message_id;
};

// Device address "a:p" -> endpoint name, to name the sender of each response datagram.
const endpoints = new Map();

function option_uint(packet, name) {
  const option = packet.options.find((o) => o.name === name);
  if (!option) {
    return 'none';
  }
  let value = 0;
  for (const byte of option.value) {
    value = value * 256 + byte;
  }
  return value;
}

function sniff(message, rinfo) {
  const ep = endpoints.get(rinfo.address + ':' + rinfo.port);
  if (ep === undefined) {
    return;
  }
  let packet;
  try {
    packet = packet_parser.parse(message);
  } catch (e) {
    emit('error', {ep: ep, op: 'parse', code: 'none', message: e.message});
    return;
  }
  if (/^[245]\./.test(packet.code)) {
    emit('response', {
      ep: ep,
      code: packet.code,
      cf: option_uint(packet, 'Content-Format'),
      observe: option_uint(packet, 'Observe'),
    });
  }
}

function report_error(ep, op, error) {
  emit('error', {
    ep: ep,
    op: op,
    code: error && error.code ? error.code : 'none',
    message: error && error.message ? error.message : String(error),
  });
}

// Read, Discover, Write, Execute, then Observe: one after the other, so each request of a
// device is answered before the next goes out.
function exercise(ep) {
  server.getDevice(ep, (error, device) => {
    if (error) {
      report_error(ep, 'lookup', error);
      return;
    }
    endpoints.set(device.address + ':' + device.port, ep);
    emit('registered', {ep: ep, id: device.id, address: device.address, port: device.port});
    const id = device.id;
    const steps = [
      (next) =>
        server.read(id, target[0], target[1], target[2], (e, value) => {
          if (e) {
            report_error(ep, 'read', e);
          } else {
            emit('read', {ep: ep, value: value});
          }
          next();
        }),
      (next) =>
        server.discover(id, target[0], target[1], target[2], (e, links) => {
          if (e) {
            report_error(ep, 'discover', e);
          } else {
            emit('discover', {ep: ep, links: links});
          }
          next();
        }),
    ];
    if (write_target) {
      steps.push((next) =>
        server.write(id, write_target[0], write_target[1], write_target[2], 'written', (e) => {
          emit('write', {ep: ep, code: e ? e.code : '2.04'});
          next();
        }),
      );
    }
    if (execute_target) {
      steps.push((next) =>
        server.execute(id, execute_target[0], execute_target[1], execute_target[2], null, (e) => {
          emit('execute', {ep: ep, code: e ? e.code : '2.04'});
          next();
        }),
      );
    }
    steps.push(() =>
      server.observe(
        id,
        target[0],
        target[1],
        target[2],
        (value) => emit('notify', {ep: ep, value: value}),
        (e, value) => {
          if (e) {
            report_error(ep, 'observe', e);
          } else {
            emit('observed', {ep: ep, value: value});
          }
        },
      ),
    );
    const run = (i) => {
      if (i < steps.length) {
        steps[i](() => run(i + 1));
      }
    };
    run(0);
  });
}

const config = {
  port: Number(args.port),
  lifetimeCheckInterval: 1000,
  udpWindow: 100,
  defaultType: 'Device',
  logLevel: 'FATAL',
  ipProtocol: 'udp4',
  serverProtocol: 'udp4',
  formats: [
    {name: 'application-vnd-oma-lwm2m/text', value: 1541},
    {name: 'application-vnd-oma-lwm2m/tlv', value: 1542},
    {name: 'application-vnd-oma-lwm2m/json', value: 1543},
    {name: 'application-vnd-oma-lwm2m/opaque', value: 1544},
  ],
  writeFormat: 'application-vnd-oma-lwm2m/text',
  defaultAcceptFormat: 'text/plain',
};

server.start(config, (error, server_info) => {
  if (error) {
    report_error('none', 'start', error);
    process.exit(1);
  }
  const socket = server_info.server._sock;
  socket.on('message', sniff);
  // With --port 0 the socket has a free port; the library sends its requests to the device
  // through its own socket as a CoAP proxy at 127.0.0.1:config.port, so it needs the real one.
  config.port = socket.address().port;
  server.setHandler(server_info, 'registration', (ep, lifetime, version, binding, payload, done) => {
    done();
    // After the 2.01 has gone out: the device takes requests once it is registered.
    setTimeout(() => exercise(ep), 50);
  });
  process.on('SIGTERM', () => {
    setTimeout(() => process.exit(1), 2000).unref();
    server.stop(server_info, () => process.exit(0));
  });
  emit('listening', {port: config.port});
});
