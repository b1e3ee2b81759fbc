/** Preload (`node --import`): the V8 settings bin/dpc applies to `dpc export run|download`, before anything else loads. */
import { tuneForStreaming } from '../cli/v8-flags.js';

tuneForStreaming();
