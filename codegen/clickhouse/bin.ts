#!/usr/bin/env -S npx tsx
// buf runs this file as a protoc plugin (see buf.gen.yaml).
import { runNodeJs } from "@bufbuild/protoplugin";
import { plugin } from "./plugin.js";

runNodeJs(plugin);
