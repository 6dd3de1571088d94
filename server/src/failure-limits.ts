import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';

export interface FailureTier {
  /** Failures allowed per window of `seconds`; after them, attempts are refused until the window ends. */
  failures: number;
  seconds: number;
}

export interface FailureLimitOptions {
  /** Tiers per address: a short window, then longer ones with more failures (back-off: a persistent guesser waits for the long window). */
  perAddress: FailureTier[];
  /** All addresses together: a distributed guesser is slowed too. */
  global: FailureTier;
  /**
   * While the global limit is exceeded, refuse every address (admin login: a handful of people, and
   * a password worth guessing), or only addresses that failed recently (hospital handshakes: a
   * flood of wrong tokens must not lock out hospitals with the right one).
   */
  globalBlocksEveryone: boolean;
}

/**
 * Counts failed attempts (wrong token, wrong password) and refuses further attempts with a
 * back-off before any check is made, so a guesser gets nothing, not even the cost of a hash.
 * Successful attempts are never counted, so 200 hospitals behind one address connect freely.
 */
export class FailureLimits {
  private readonly tiers: { limiter: RateLimiterMemory; tier: FailureTier }[];
  private readonly global: RateLimiterMemory;

  constructor(private readonly options: FailureLimitOptions) {
    this.tiers = options.perAddress.map((tier) => ({ limiter: limiterFor(tier), tier }));
    this.global = limiterFor(options.global);
  }

  /** Seconds this address must wait before another attempt; 0 when it may try now. */
  async retryAfter(address: string): Promise<number> {
    let wait = 0;
    let failedRecently = false;
    for (const { limiter, tier } of this.tiers) {
      const r = await limiter.get(address);
      if (!r) continue;
      failedRecently = true;
      if (r.consumedPoints >= tier.failures) wait = Math.max(wait, seconds(r));
    }
    const g = await this.global.get('all');
    if (g && g.consumedPoints >= this.options.global.failures && (this.options.globalBlocksEveryone || failedRecently)) {
      wait = Math.max(wait, seconds(g));
    }
    return wait;
  }

  async failed(address: string): Promise<void> {
    // consume() rejects once over the limit: already counted as refused, not an error.
    const ignore = () => {};
    await Promise.all([...this.tiers.map(({ limiter }) => limiter.consume(address).catch(ignore)), this.global.consume('all').catch(ignore)]);
  }

  async succeeded(address: string): Promise<void> {
    await Promise.all(this.tiers.map(({ limiter }) => limiter.delete(address)));
  }
}

function limiterFor(tier: FailureTier): RateLimiterMemory {
  return new RateLimiterMemory({ points: tier.failures, duration: tier.seconds });
}

function seconds(r: RateLimiterRes): number {
  return Math.max(1, Math.ceil(r.msBeforeNext / 1000));
}

/** Wrong enrolment tokens: 192-bit tokens cannot be guessed, so this guards the server's time, and is generous. */
export const HANDSHAKE_LIMITS: FailureLimitOptions = {
  perAddress: [
    { failures: 10, seconds: 60 },
    { failures: 50, seconds: 3600 },
  ],
  global: { failures: 300, seconds: 60 },
  globalBlocksEveryone: false,
};

/** Wrong admin passwords: people choose them, so guessing is slowed hard. */
export const ADMIN_LOGIN_LIMITS: FailureLimitOptions = {
  perAddress: [
    { failures: 5, seconds: 60 },
    { failures: 20, seconds: 3600 },
  ],
  global: { failures: 50, seconds: 60 },
  globalBlocksEveryone: true,
};
