import { DIGITS, LOWER, type PasswordPolicy, UPPER } from '../../password/policy.ts';

// OTC's rule for the security-mode admin user (https://docs.otc.t-systems.com/cloud-search-service/api-ref/ (Changing the Password of a Cluster)): 8–32 characters, at least three of upper
// case, lower case, digits and these specials, and no other character. The console also refuses
// the user name and its reverse as the password.
const CSS_SPECIALS = '~!@#$%^&*()-_=+\\|[{}];:,<.>/?';

export const cssAdminPasswordPolicy: PasswordPolicy = {
  minLength: 8,
  maxLength: 32,
  classes: [
    { name: 'lower-case letters', chars: LOWER },
    { name: 'upper-case letters', chars: UPPER },
    { name: 'digits', chars: DIGITS },
    { name: 'special characters', chars: CSS_SPECIALS },
  ],
  minClasses: 3,
  forbiddenValues: ['admin', 'nimda'],
  generatedLength: 32,
};
