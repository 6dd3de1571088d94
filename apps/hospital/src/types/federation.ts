import type { FederationConfig } from '@fedward/protocol';

export interface Enrolment {
  token: string;
  hospital: string;
  config: FederationConfig;
}
