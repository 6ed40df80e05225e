/**
 * The injection token of the module's checked settings: the registry configuration and the runtime options.
 * @internal
 */
export const RESILIENCE_MODULE_OPTIONS = Symbol('dspu:nestjs:options');
