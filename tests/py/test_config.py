import json
import os
import tempfile
import unittest

from _tracer.config import ConfigError, load_config, parse_config


class ConfigTest(unittest.TestCase):
    def test_defaults_fill_what_is_missing(self):
        config = parse_config('{"version": 1, "output_dir": "/tmp"}')
        self.assertEqual(config.output_dir, "/tmp")
        self.assertEqual(config.max_stack_depth, -1)
        self.assertEqual(config.core, "auto")
        self.assertEqual(config.include_files, [])
        self.assertIs(config.trace_children, True)

    def test_every_bad_value_names_its_key(self):
        cases = {
            '{"version": 1, "output_dir": "rel"}': "absolute",
            '{"version": 2, "output_dir": "/tmp"}': "version 2",
            '{"version": 1, "output_dir": "/tmp", "core": "fast"}': "'core'",
            '{"version": 1, "output_dir": "/tmp", "trace_children": 1}': "'trace_children'",
            '{"version": 1, "output_dir": "/tmp", "max_stack_depth": true}': "'max_stack_depth'",
            '{"version": 1, "output_dir": "/tmp", "include_files": [1]}': "'include_files'",
            '{"version": 1}': "'output_dir'",
            '[1]': "JSON object",
            '{"version": 1,': "not valid JSON",
            '{"version": 1, "output_dir": "/tmp"} x': "not valid JSON",
        }
        for text, fragment in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(ConfigError) as caught:
                    parse_config(text)
                self.assertIn(fragment, str(caught.exception))

    def test_a_path_is_read_and_an_unreadable_one_is_named(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "config.json")
            with open(path, "w") as file:
                json.dump({"version": 1, "output_dir": folder, "min_duration_us": 2.5}, file)
            self.assertEqual(load_config(path).min_duration_us, 2.5)
            with self.assertRaises(ConfigError) as caught:
                load_config(os.path.join(folder, "missing.json"))
            self.assertIn("missing.json", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
