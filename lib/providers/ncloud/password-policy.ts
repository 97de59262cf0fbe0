import { DIGITS, LOWER, type PasswordPolicy, UPPER } from '../../password/policy.ts';

// Naver's API reference allows 8–20 characters mixing letters, digits and specials, and forbids ' " ` ₩ / &
// and space. Naver's Terraform provider is stricter (a fixed set of specials); a password must
// pass both, so the allowed specials are that set with Naver's forbidden ones removed.
// https://api.ncloud-docs.com/docs/en/analytics-clouddatastreamingservice-cluster-resetcmakpassword
const NCLOUD_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

export const ncloudCmakPasswordPolicy: PasswordPolicy = {
  minLength: 8,
  maxLength: 20,
  classes: [
    { name: 'letters', chars: LOWER + UPPER },
    { name: 'digits', chars: DIGITS },
    { name: 'special characters', chars: NCLOUD_SPECIALS },
  ],
  minClasses: 3,
  generatedLength: 20,
};
