"""The request boundary and what every page shares: errors, security headers, forms, labels, i18n."""
