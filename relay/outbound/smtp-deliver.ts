// Delivers one spooled mail to one recipient's destination and says what happened: delivered,
// deferred or failed (classify.ts). The steps:
// 1. prepare the bytes: CRLF line endings, the relay's Received header, the hop count (a loop fails);
// 2. resolve the destination: route > smarthost > address literal > MX (resolve.ts);
// 3. try the addresses in order over pooled sessions (connection reuse and a limit per destination);
//    the next address is tried only when the host, not the mail, was the problem (triesNextHost):
//    the first real answer to the transaction is final.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { receivedHeader, type TraceInfo } from "../smtp-in/trace-header.ts";
import { classifySmtpFailure, localFailure, triesNextHost, type DeliveryResult, type SmtpFailure } from "./classify.ts";
import { ConnectionPool, POOL_CLOSED } from "./connection-pool.ts";
import type { Random } from "./mx-order.ts";
import { prepareMessage } from "./prepare-message.ts";
import { createDnsResolver, resolveDestination, type DnsResolver, type ResolveOptions, type Target } from "./resolve.ts";
import { compileRoutes } from "./route.ts";
import { compileAddressGuard } from "../deliver/address-guard.ts";
import type { OutboundSettings } from "./settings.ts";
import { SmtpSession, type Envelope, type SessionSettings } from "./smtp-session.ts";

export interface DeliveryRequest {
  /** Envelope sender (the relay's return path); "" for the null sender. */
  readonly from: string;
  /** One recipient. */
  readonly to: string;
  /** The message as spooled. */
  readonly message: Buffer;
  /**
   * How the relay received the mail, for its Received header (the `by` name is `heloName`). Null when
   * the spooled message already carries the relay's own Received header.
   */
  readonly trace: Omit<TraceInfo, "hostname"> | null;
}

export interface OutboundDependencies {
  /** Defaults to a node:dns Resolver on `settings.dns`. */
  readonly dns?: DnsResolver;
  /** Order among MX hosts of equal preference; defaults to Math.random. */
  readonly random?: Random;
}

/** A reused session the server had silently dropped is replaced this many times, then it counts. */
const STALE_RETRIES = 2;

export class OutboundDelivery {
  readonly #settings: OutboundSettings;
  readonly #resolveOptions: ResolveOptions;
  readonly #dns: DnsResolver;
  readonly #session: SessionSettings;
  readonly #pool: ConnectionPool<SmtpSession>;

  constructor(settings: OutboundSettings, dependencies: OutboundDependencies = {}) {
    this.#settings = settings;
    const guard = compileAddressGuard(settings.allowNetworks);
    this.#resolveOptions = {
      routes: compileRoutes(settings),
      mxPort: settings.mxPort,
      mxTls: settings.tls.mx,
      maxAddresses: settings.maxAddressesPerAttempt,
      mayConnect: (address) => guard(address).allowed,
      ...(dependencies.random === undefined ? {} : { random: dependencies.random }),
    };
    this.#dns = dependencies.dns ?? createDnsResolver(settings.dns);
    this.#session = {
      heloName: settings.heloName,
      connectTimeoutMs: settings.timeouts.connectSeconds * 1000,
      greetingTimeoutMs: settings.timeouts.greetingSeconds * 1000,
      commandTimeoutMs: settings.timeouts.commandSeconds * 1000,
      ca: settings.tls.caFile === null ? undefined : [...rootCertificates, readCaFile(settings.tls.caFile)],
    };
    this.#pool = new ConnectionPool({
      maxPerKey: settings.connections.maxPerDestination,
      maxUses: settings.connections.maxMessagesPerConnection,
      idleMs: settings.connections.idleSeconds * 1000,
      waitMs: settings.timeouts.connectSeconds * 1000,
    });
  }

  async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
    const received = request.trace === null ? null : receivedHeader({ ...request.trace, hostname: this.#settings.heloName });
    const prepared = prepareMessage(request.message, received, this.#settings.maxReceivedHeaders);
    if (prepared.kind === "loop") {
      return localFailure("networkerror", `554 5.4.6 Too many hops: ${prepared.hops} Received headers (the limit is ${this.#settings.maxReceivedHeaders}), a mail loop`);
    }
    const resolution = await resolveDestination(request.to, this.#resolveOptions, this.#dns);
    if (resolution.kind !== "targets") return resolution;

    const envelope: Envelope = { from: request.from, to: request.to, size: prepared.message.length, eightBit: prepared.eightBit };
    let last: DeliveryResult | undefined;
    for (const target of resolution.targets) {
      const attempt = await this.#attempt(target, envelope, prepared.message);
      if (!attempt.nextHost) return attempt.result;
      last = attempt.result;
    }
    // Every address failed at the host level: the last one's outcome stands for all.
    return last!;
  }

  /** Closes idle sessions now and the others as their deliveries finish; later deliveries are deferred. */
  close(): void {
    this.#pool.close();
  }

  async #attempt(target: Target, envelope: Envelope, message: Buffer): Promise<{ result: DeliveryResult; nextHost: boolean }> {
    const host = target.host === target.address ? `[${target.address}]:${target.port}` : `${target.host}[${target.address}]:${target.port}`;
    const key = `${target.host}|${target.address}|${target.port}|${target.tls}|${target.auth?.user ?? ""}`;
    for (let stale = 0; ; stale++) {
      let lease;
      try {
        lease = await this.#pool.acquire(key, () => SmtpSession.open(target, this.#session));
      } catch (err) {
        const failure = failureOf(err);
        if (failure.code === POOL_CLOSED) return { result: { kind: "deferred", reason: "the relay is shutting down" }, nextHost: false };
        return outcome(host, failure);
      }
      const session = lease.resource;
      try {
        const response = await session.send(envelope, message, this.#settings.timeouts.dataSeconds * 1000);
        const senderIp = session.localAddress;
        this.#pool.release(lease, true);
        return { result: { kind: "delivered", senderIp, response, host }, nextHost: false };
      } catch (err) {
        const failure = failureOf(err);
        this.#pool.release(lease, session.alive && (await session.reset()));
        // A kept session the server closed while idle is no answer about this mail: use a fresh one.
        const dropped = failure.code === "ECONNECTION" || failure.code === "ESOCKET";
        if (lease.reused && dropped && failure.responseCode === undefined && stale < STALE_RETRIES) continue;
        return outcome(host, failure);
      }
    }
  }
}

function outcome(host: string, failure: SmtpFailure): { result: DeliveryResult; nextHost: boolean } {
  const result = classifySmtpFailure(failure);
  const withHost: DeliveryResult =
    result.kind === "deferred"
      ? { ...result, reason: result.response === undefined ? `${host}: ${result.reason}` : `${host} said: ${result.reason}`, host }
      : { ...result, host };
  return { result: withHost, nextHost: triesNextHost(failure) };
}

/** nodemailer's error fields, checked: an error is `unknown` until looked at. */
function failureOf(err: unknown): SmtpFailure {
  const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  const text = (key: string) => (typeof e[key] === "string" ? { [key]: e[key] } : {});
  return {
    ...text("code"),
    ...text("originalCode"),
    ...text("response"),
    ...text("command"),
    ...text("message"),
    ...(typeof e.responseCode === "number" ? { responseCode: e.responseCode } : {}),
  };
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw Object.assign(new Error(`outbound.tls.caFile ${file} cannot be read: ${(err as Error).message}`), { code: "OUTBOUND_CA_FILE" });
  }
}
