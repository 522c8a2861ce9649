/**
 * Cloud resource ids (sg-..., subnet-..., Azure resource paths, vsw-...) are
 * opaque: ipamd checks only that one is a single token of at most 512
 * characters without blanks, quotes or commas, wherever it reads one (the
 * environment, a NodeNetworkConfig).
 */
export const cloudIdPattern = /^[A-Za-z0-9/][A-Za-z0-9._:/-]{0,511}$/;
