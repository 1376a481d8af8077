{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 6,
			"revision": 0,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			100.0,
			100.0,
			1180.0,
			860.0
		],
		"openrect": [
			0.0,
			0.0,
			700.0,
			169.0
		],
		"openinpresentation": 1,
		"devicewidth": 700.0,
		"default_fontsize": 10.0,
		"default_fontname": "Ableton Sans Medium",
		"gridsize": [
			8.0,
			8.0
		],
		"description": "JASCO: type a prompt, press Generate, get an audio clip in time with the song (needs jasco-bridge serve running).",
		"tags": "jasco ai music generation osc",
		"is_mpe": 1,
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						420.0,
						520.0,
						89.0,
						22.0
					],
					"saved_object_attributes": {
						"filename": "jasco.js",
						"parameter_enable": 0
					},
					"text": "js jasco.js",
					"varname": "jasco_js"
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						420.0,
						640.0,
						166.0,
						22.0
					],
					"text": "udpsend 127.0.0.1 9000",
					"varname": "jasco_udpsend"
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700.0,
						400.0,
						117.0,
						22.0
					],
					"text": "udpreceive 9001",
					"varname": "jasco_udpreceive"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700.0,
						440.0,
						68.0,
						22.0
					],
					"text": "deferlow",
					"varname": "jasco_deferlow"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						640.0,
						166.0,
						22.0
					],
					"text": "udpsend 127.0.0.1 9001",
					"varname": "jasco_probe"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 14,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						560.0,
						580.0,
						824.0,
						22.0
					],
					"text": "route status progress path target_tracks drums_tracks take_list seed lock_seed prompt state udpsend udpreceive probe",
					"varname": "jasco_route"
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"bang",
						"int",
						"int"
					],
					"patching_rect": [
						20.0,
						20.0,
						117.0,
						22.0
					],
					"text": "live.thisdevice"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						50.0,
						34.0,
						22.0
					],
					"text": "init"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"int"
					],
					"patching_rect": [
						900.0,
						20.0,
						54.0,
						22.0
					],
					"text": "midiin"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						900.0,
						60.0,
						61.0,
						22.0
					],
					"text": "midiout"
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						900.0,
						440.0,
						131.0,
						22.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "JASCO state",
							"parameter_shortname": "State",
							"parameter_type": 3,
							"parameter_invisible": 1,
							"parameter_modmode": 0
						}
					},
					"text": "pattr jasco_state",
					"varname": "jasco_state"
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						900.0,
						480.0,
						103.0,
						22.0
					],
					"text": "prepend state"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-13",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						704.0,
						702.0,
						50.0,
						16.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						2.0,
						50.0,
						16.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Prompt"
				}
			},
			{
				"box": {
					"annotation": "The music in words, e.g. 'warm lofi piano with vinyl crackle'; saved with the set. Return or Generate sends it.",
					"annotation_name": "Prompt",
					"bangmode": 0,
					"fontname": "Ableton Sans Medium",
					"fontsize": 11.0,
					"hint": "Describe the music: 'warm lofi piano with vinyl crackle'. Return or Generate sends it.",
					"id": "obj-14",
					"keymode": 1,
					"lines": 2,
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"outputmode": 1,
					"patching_rect": [
						20.0,
						120.0,
						300.0,
						40.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						18.0,
						300.0,
						38.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "prompt",
					"wordwrap": 1
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						172.0,
						110.0,
						22.0
					],
					"text": "prepend prompt"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-16",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						704.0,
						760.0,
						46.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						60.0,
						46.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Chords"
				}
			},
			{
				"box": {
					"annotation": "where the chords come from",
					"annotation_name": "Chords",
					"fontname": "Ableton Sans Medium",
					"id": "obj-17",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						340.0,
						120.0,
						100.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						52.0,
						61.0,
						100.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Chords",
							"parameter_shortname": "Chords",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 2,
							"parameter_enum": [
								"selected clip",
								"playing clip",
								"none"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_modmode": 0
						}
					},
					"varname": "chords"
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						340.0,
						147.0,
						110.0,
						22.0
					],
					"text": "prepend chords"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-19",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						704.0,
						780.0,
						46.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						80.0,
						46.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Drums"
				}
			},
			{
				"box": {
					"annotation": "The audio track whose clip (scene below) is the drum loop; none for no drums.",
					"annotation_name": "Drums track",
					"fontname": "Ableton Sans Medium",
					"fontsize": 10.0,
					"id": "obj-20",
					"items": [
						"none"
					],
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"patching_rect": [
						460.0,
						120.0,
						100.0,
						22.0
					],
					"presentation": 1,
					"presentation_rect": [
						52.0,
						79.0,
						100.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "drums_track"
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						460.0,
						154.0,
						145.0,
						22.0
					],
					"text": "prepend drums_track"
				}
			},
			{
				"box": {
					"annotation": "scene (clip slot) of the drum loop on the drums track; 0 = its Arrangement clip at the insert marker (the playhead while playing)",
					"annotation_name": "Drums scene",
					"fontname": "Ableton Sans Medium",
					"id": "obj-22",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						580.0,
						120.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						156.0,
						80.0,
						36.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Drums scene",
							"parameter_shortname": "Scene",
							"parameter_type": 0,
							"parameter_mmin": 0.0,
							"parameter_mmax": 999.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								1.0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "drums_scene"
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						580.0,
						147.0,
						145.0,
						22.0
					],
					"text": "prepend drums_scene"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-24",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						704.0,
						800.0,
						46.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						100.0,
						46.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Target"
				}
			},
			{
				"box": {
					"annotation": "where finished clips go",
					"annotation_name": "Target",
					"fontname": "Ableton Sans Medium",
					"id": "obj-25",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						20.0,
						220.0,
						90.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						52.0,
						101.0,
						80.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Target",
							"parameter_shortname": "Target",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 2,
							"parameter_enum": [
								"session",
								"arrangement",
								"folder"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_modmode": 0
						}
					},
					"varname": "target"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						247.0,
						110.0,
						22.0
					],
					"text": "prepend target"
				}
			},
			{
				"box": {
					"annotation": "The audio track that receives the clips.",
					"annotation_name": "Target track",
					"fontname": "Ableton Sans Medium",
					"fontsize": 10.0,
					"id": "obj-27",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"patching_rect": [
						140.0,
						220.0,
						120.0,
						22.0
					],
					"presentation": 1,
					"presentation_rect": [
						136.0,
						99.0,
						110.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "target_track"
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						140.0,
						254.0,
						152.0,
						22.0
					],
					"text": "prepend target_track"
				}
			},
			{
				"box": {
					"annotation": "Render a clip from the prompt, chords and drums with jasco-bridge; it lands on the target.",
					"annotation_name": "Generate",
					"fontname": "Ableton Sans Medium",
					"id": "obj-29",
					"maxclass": "live.text",
					"mode": 0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						20.0,
						320.0,
						80.0,
						20.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						122.0,
						80.0,
						18.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Generate",
							"parameter_shortname": "Generate",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_invisible": 2,
							"parameter_modmode": 0
						}
					},
					"text": "Generate",
					"varname": "generate"
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						400.0,
						60.0,
						22.0
					],
					"text": "generate"
				}
			},
			{
				"box": {
					"annotation": "Cancel everything this device has queued or rendering.",
					"annotation_name": "Cancel",
					"fontname": "Ableton Sans Medium",
					"id": "obj-31",
					"maxclass": "live.text",
					"mode": 0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						120.0,
						320.0,
						60.0,
						20.0
					],
					"presentation": 1,
					"presentation_rect": [
						88.0,
						122.0,
						60.0,
						18.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Cancel",
							"parameter_shortname": "Cancel",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_invisible": 2,
							"parameter_modmode": 0
						}
					},
					"text": "Cancel",
					"varname": "cancel"
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						120.0,
						400.0,
						60.0,
						22.0
					],
					"text": "cancel"
				}
			},
			{
				"box": {
					"annotation": "Read the track list again (it also follows Live on its own).",
					"annotation_name": "Tracks",
					"fontname": "Ableton Sans Medium",
					"id": "obj-33",
					"maxclass": "live.text",
					"mode": 0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						200.0,
						320.0,
						60.0,
						20.0
					],
					"presentation": 1,
					"presentation_rect": [
						152.0,
						122.0,
						56.0,
						18.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Refresh",
							"parameter_shortname": "Refresh",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_invisible": 2,
							"parameter_modmode": 0
						}
					},
					"text": "Tracks",
					"varname": "refresh"
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						200.0,
						400.0,
						60.0,
						22.0
					],
					"text": "refresh"
				}
			},
			{
				"box": {
					"annotation": "Copy the chosen take's seed into the seed box and turn Lock on.",
					"annotation_name": "Lock seed",
					"fontname": "Ableton Sans Medium",
					"id": "obj-35",
					"maxclass": "live.text",
					"mode": 0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						280.0,
						320.0,
						64.0,
						20.0
					],
					"presentation": 1,
					"presentation_rect": [
						632.0,
						91.0,
						64.0,
						18.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Recall",
							"parameter_shortname": "Recall",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_invisible": 2,
							"parameter_modmode": 0
						}
					},
					"text": "Lock seed",
					"varname": "recall"
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						280.0,
						400.0,
						60.0,
						22.0
					],
					"text": "recall"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"bang",
						"bang"
					],
					"patching_rect": [
						20.0,
						360.0,
						47.0,
						22.0
					],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-38",
					"ignoreclick": 1,
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"orientation": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						700.0,
						300.0,
						10.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						144.0,
						300.0,
						6.0
					],
					"saved_attribute_attributes": {
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						},
						"knobcolor": {
							"expression": "themecolor.live_control_selection"
						}
					},
					"size": 101.0,
					"thickness": 100.0,
					"varname": "progress"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"fontsize": 9.0,
					"id": "obj-39",
					"lines": 1,
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"patching_rect": [
						20.0,
						740.0,
						600.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						4.0,
						152.0,
						692.0,
						15.0
					],
					"readonly": 1,
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "status"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-40",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1012.0,
						702.0,
						40.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						2.0,
						40.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Model"
				}
			},
			{
				"box": {
					"annotation": "the model to ask the bridge for",
					"annotation_name": "Model",
					"fontname": "Ableton Sans Medium",
					"id": "obj-41",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						20.0,
						460.0,
						180.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						352.0,
						3.0,
						200.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Model",
							"parameter_shortname": "Model",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 5,
							"parameter_enum": [
								"server default",
								"tiny",
								"facebook/jasco-chords-drums-400M",
								"facebook/jasco-chords-drums-1B",
								"facebook/jasco-chords-drums-melody-400M",
								"facebook/jasco-chords-drums-melody-1B"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_modmode": 0
						}
					},
					"varname": "model"
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						487.0,
						103.0,
						22.0
					],
					"text": "prepend model"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-43",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1012.0,
						720.0,
						40.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						20.0,
						40.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Quality"
				}
			},
			{
				"box": {
					"annotation": "speed/quality preset: none = use solver, steps, rtol, atol (defaults: audiocraft's dopri5 1e-5); sketch / draft / normal = few-evaluation solvers, 2 / 4 / 8 evaluations (measured error vs reference in bench/engine.py; sketch also runs a loop of up to 10 s at its own length, not in the model's 10 s window: the fastest take); reference = dopri5 1e-5. A preset other than none replaces solver, steps, rtol and atol",
					"annotation_name": "Quality",
					"fontname": "Ableton Sans Medium",
					"id": "obj-44",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						220.0,
						420.0,
						70.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						352.0,
						21.0,
						70.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Quality",
							"parameter_shortname": "Quality",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 4,
							"parameter_enum": [
								"none",
								"sketch",
								"draft",
								"normal",
								"reference"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_modmode": 0
						}
					},
					"varname": "preset"
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						220.0,
						447.0,
						110.0,
						22.0
					],
					"text": "prepend preset"
				}
			},
			{
				"box": {
					"annotation": "Shows Solver and Steps, which apply when Quality is none.",
					"annotation_name": "Expert",
					"fontname": "Ableton Sans Medium",
					"id": "obj-46",
					"maxclass": "live.text",
					"mode": 1,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						300.0,
						420.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						426.0,
						21.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Expert",
							"parameter_shortname": "Expert",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_invisible": 1,
							"parameter_modmode": 0
						}
					},
					"text": "Expert",
					"texton": "Expert",
					"varname": "expert"
				}
			},
			{
				"box": {
					"annotation": "ODE solver (dopri5 is audiocraft's default; euler, midpoint, heun, rk4 are fixed-step)",
					"annotation_name": "Solver",
					"fontname": "Ableton Sans Medium",
					"hidden": 1,
					"id": "obj-47",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						220.0,
						460.0,
						70.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						626.0,
						21.0,
						70.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Solver",
							"parameter_shortname": "Solver",
							"parameter_type": 2,
							"parameter_mmin": 0.0,
							"parameter_mmax": 4,
							"parameter_enum": [
								"euler",
								"midpoint",
								"heun",
								"rk4",
								"dopri5"
							],
							"parameter_initial_enable": 1,
							"parameter_initial": [
								4
							],
							"parameter_modmode": 0
						}
					},
					"varname": "solver"
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						220.0,
						487.0,
						110.0,
						22.0
					],
					"text": "prepend solver"
				}
			},
			{
				"box": {
					"annotation": "steps of the fixed-step solvers (evaluations per step: euler 1, midpoint 2, heun 2, rk4 4)",
					"annotation_name": "Steps",
					"fontname": "Ableton Sans Medium",
					"hidden": 1,
					"id": "obj-49",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						300.0,
						460.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						626.0,
						40.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Steps",
							"parameter_shortname": "Steps",
							"parameter_type": 0,
							"parameter_mmin": 1.0,
							"parameter_mmax": 1000.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								16.0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "steps"
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						300.0,
						487.0,
						103.0,
						22.0
					],
					"text": "prepend steps"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"hidden": 1,
					"id": "obj-51",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1326.0,
						740.0,
						28.0,
						14.0
					],
					"presentation": 1,
					"presentation_rect": [
						668.0,
						40.0,
						28.0,
						14.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Steps"
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						"int"
					],
					"patching_rect": [
						300.0,
						440.0,
						40.0,
						22.0
					],
					"text": "== 0"
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						300.0,
						480.0,
						110.0,
						22.0
					],
					"text": "prepend hidden"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-54",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1170.0,
						720.0,
						30.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						470.0,
						20.0,
						30.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Seed"
				}
			},
			{
				"box": {
					"annotation": "random seed: the same seed and inputs give the same clip",
					"annotation_name": "Seed",
					"fontname": "Ableton Sans Medium",
					"id": "obj-55",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						360.0,
						460.0,
						70.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						500.0,
						21.0,
						70.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Seed",
							"parameter_shortname": "Seed",
							"parameter_type": 0,
							"parameter_mmin": -1.0,
							"parameter_mmax": 16777216.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								-1.0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "seed"
				}
			},
			{
				"box": {
					"id": "obj-56",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						360.0,
						487.0,
						96.0,
						22.0
					],
					"text": "prepend seed"
				}
			},
			{
				"box": {
					"annotation": "1: use the seed box for every press (takes count up from it); 0: a fresh random seed for every take",
					"annotation_name": "Lock seed",
					"id": "obj-57",
					"maxclass": "live.toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						440.0,
						460.0,
						15.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						574.0,
						21.0,
						15.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Lock seed",
							"parameter_shortname": "Lock",
							"parameter_type": 1,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "lock_seed"
				}
			},
			{
				"box": {
					"id": "obj-58",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						440.0,
						487.0,
						131.0,
						22.0
					],
					"text": "prepend lock_seed"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-59",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1292.0,
						720.0,
						30.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						592.0,
						20.0,
						30.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Lock"
				}
			},
			{
				"box": {
					"annotation": "classifier-free guidance weight of all conditions",
					"annotation_name": "CFG all",
					"fontname": "Ableton Sans Medium",
					"id": "obj-60",
					"maxclass": "live.dial",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						20.0,
						600.0,
						44.0,
						48.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						40.0,
						44.0,
						48.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "CFG all",
							"parameter_shortname": "CFG",
							"parameter_type": 0,
							"parameter_mmin": -20.0,
							"parameter_mmax": 20.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								5.0
							],
							"parameter_unitstyle": 1,
							"parameter_modmode": 2
						}
					},
					"varname": "cfg_all"
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						660.0,
						117.0,
						22.0
					],
					"text": "prepend cfg_all"
				}
			},
			{
				"box": {
					"annotation": "extra guidance weight of the text prompt alone",
					"annotation_name": "CFG text",
					"fontname": "Ableton Sans Medium",
					"id": "obj-62",
					"maxclass": "live.dial",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						80.0,
						600.0,
						44.0,
						48.0
					],
					"presentation": 1,
					"presentation_rect": [
						360.0,
						40.0,
						44.0,
						48.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "CFG text",
							"parameter_shortname": "CFG txt",
							"parameter_type": 0,
							"parameter_mmin": -20.0,
							"parameter_mmax": 20.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0.0
							],
							"parameter_unitstyle": 1,
							"parameter_modmode": 2
						}
					},
					"varname": "cfg_txt"
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						80.0,
						660.0,
						117.0,
						22.0
					],
					"text": "prepend cfg_txt"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-64",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1110.0,
						740.0,
						80.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						410.0,
						40.0,
						80.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Bars (0 = clip)"
				}
			},
			{
				"box": {
					"annotation": "clip length in bars at the session tempo (at most 180 s; longer clips than the model's 10 s window are rendered in overlapping windows)",
					"annotation_name": "Bars",
					"fontname": "Ableton Sans Medium",
					"id": "obj-65",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						140.0,
						600.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						410.0,
						58.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Bars",
							"parameter_shortname": "Bars",
							"parameter_type": 1,
							"parameter_mmin": 0,
							"parameter_mmax": 128,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "bars"
				}
			},
			{
				"box": {
					"id": "obj-66",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						140.0,
						627.0,
						96.0,
						22.0
					],
					"text": "prepend bars"
				}
			},
			{
				"box": {
					"annotation": "with bars: a seamless loop of exactly the bars asked (its end flows into its start, no fade); 0 = a one-shot phrase (cut to the bars, faded out)",
					"annotation_name": "Loop",
					"id": "obj-67",
					"maxclass": "live.toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						190.0,
						600.0,
						15.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						456.0,
						58.0,
						15.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Loop",
							"parameter_shortname": "Loop",
							"parameter_type": 1,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								1
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "loop"
				}
			},
			{
				"box": {
					"id": "obj-68",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						190.0,
						627.0,
						96.0,
						22.0
					],
					"text": "prepend loop"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-69",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1174.0,
						759.0,
						30.0,
						14.0
					],
					"presentation": 1,
					"presentation_rect": [
						474.0,
						59.0,
						30.0,
						14.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Loop"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-70",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1210.0,
						740.0,
						110.0,
						18.0
					],
					"presentation": 1,
					"presentation_rect": [
						510.0,
						40.0,
						110.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Bridge / reply port"
				}
			},
			{
				"box": {
					"annotation": "UDP port the bridge listens on",
					"annotation_name": "Bridge port",
					"fontname": "Ableton Sans Medium",
					"id": "obj-71",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						200.0,
						640.0,
						50.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						510.0,
						58.0,
						52.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Bridge port",
							"parameter_shortname": "Port",
							"parameter_type": 0,
							"parameter_mmin": 1.0,
							"parameter_mmax": 65535.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								9000.0
							],
							"parameter_unitstyle": 0,
							"parameter_invisible": 1,
							"parameter_modmode": 4
						}
					},
					"varname": "port"
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						200.0,
						667.0,
						96.0,
						22.0
					],
					"text": "prepend port"
				}
			},
			{
				"box": {
					"annotation": "UDP port replies go to unless a client says /jasco/hello",
					"annotation_name": "Reply port",
					"fontname": "Ableton Sans Medium",
					"id": "obj-73",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						260.0,
						640.0,
						50.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						566.0,
						58.0,
						52.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Reply port",
							"parameter_shortname": "Reply",
							"parameter_type": 0,
							"parameter_mmin": 0.0,
							"parameter_mmax": 65535.0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								9001.0
							],
							"parameter_unitstyle": 0,
							"parameter_invisible": 1,
							"parameter_modmode": 4
						}
					},
					"varname": "reply_port"
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						260.0,
						667.0,
						138.0,
						22.0
					],
					"text": "prepend reply_port"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-75",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1012.0,
						792.0,
						36.0,
						16.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						92.0,
						36.0,
						16.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Takes"
				}
			},
			{
				"box": {
					"annotation": "variations rendered by one press of Generate, each with its own seed, placed in consecutive free slots",
					"annotation_name": "Takes",
					"fontname": "Ableton Sans Medium",
					"id": "obj-76",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						340.0,
						640.0,
						30.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						350.0,
						92.0,
						30.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Takes",
							"parameter_shortname": "Takes",
							"parameter_type": 1,
							"parameter_mmin": 1,
							"parameter_mmax": 8,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								1
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "takes"
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						340.0,
						667.0,
						103.0,
						22.0
					],
					"text": "prepend takes"
				}
			},
			{
				"box": {
					"annotation": "1: the takes of the next press replace the last press's takes in their slots",
					"annotation_name": "Replace last take",
					"id": "obj-78",
					"maxclass": "live.toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						380.0,
						640.0,
						15.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						386.0,
						92.0,
						15.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Replace last take",
							"parameter_shortname": "Replace",
							"parameter_type": 1,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								0
							],
							"parameter_unitstyle": 0,
							"parameter_modmode": 4
						}
					},
					"varname": "replace_last"
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						380.0,
						667.0,
						152.0,
						22.0
					],
					"text": "prepend replace_last"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-80",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1104.0,
						791.0,
						70.0,
						16.0
					],
					"presentation": 1,
					"presentation_rect": [
						404.0,
						91.0,
						70.0,
						16.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Replace last"
				}
			},
			{
				"box": {
					"annotation": "Every finished take with its seed and where it went, newest first; Lock seed recalls the chosen one.",
					"annotation_name": "Takes",
					"fontname": "Ableton Sans Medium",
					"fontsize": 9.0,
					"id": "obj-81",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"patching_rect": [
						420.0,
						640.0,
						150.0,
						22.0
					],
					"presentation": 1,
					"presentation_rect": [
						478.0,
						90.0,
						150.0,
						18.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "take_choice"
				}
			},
			{
				"box": {
					"id": "obj-82",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						420.0,
						674.0,
						145.0,
						22.0
					],
					"text": "prepend take_choice"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"id": "obj-83",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1012.0,
						812.0,
						300.0,
						14.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						112.0,
						300.0,
						14.0
					],
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						}
					},
					"text": "Last clip (drag from Live's browser if it could not be placed)"
				}
			},
			{
				"box": {
					"fontname": "Ableton Sans Medium",
					"fontsize": 9.0,
					"id": "obj-84",
					"lines": 2,
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"patching_rect": [
						340.0,
						700.0,
						280.0,
						30.0
					],
					"presentation": 1,
					"presentation_rect": [
						312.0,
						127.0,
						384.0,
						22.0
					],
					"readonly": 1,
					"saved_attribute_attributes": {
						"textcolor": {
							"expression": "themecolor.live_control_fg"
						},
						"bgcolor": {
							"expression": "themecolor.live_control_bg"
						}
					},
					"varname": "path",
					"wordwrap": 1
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-9",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-8",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-1",
						0
					],
					"destination": [
						"obj-2",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-1",
						1
					],
					"destination": [
						"obj-6",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-4",
						0
					],
					"destination": [
						"obj-1",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-12",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						10
					],
					"destination": [
						"obj-2",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						11
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						12
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						9
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-14",
						0
					],
					"destination": [
						"obj-15",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-15",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-18",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-23",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						0
					],
					"destination": [
						"obj-26",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-30",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-32",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-31",
						0
					],
					"destination": [
						"obj-32",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-34",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-33",
						0
					],
					"destination": [
						"obj-34",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-36",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-35",
						0
					],
					"destination": [
						"obj-36",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-29",
						0
					],
					"destination": [
						"obj-37",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						1
					],
					"destination": [
						"obj-14",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-30",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						0
					],
					"destination": [
						"obj-42",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-42",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-44",
						0
					],
					"destination": [
						"obj-45",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-45",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-48",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						0
					],
					"destination": [
						"obj-50",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-50",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-46",
						0
					],
					"destination": [
						"obj-52",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						0
					],
					"destination": [
						"obj-53",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-55",
						0
					],
					"destination": [
						"obj-56",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-56",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-57",
						0
					],
					"destination": [
						"obj-58",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-58",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-60",
						0
					],
					"destination": [
						"obj-61",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-61",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-62",
						0
					],
					"destination": [
						"obj-63",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-63",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						0
					],
					"destination": [
						"obj-66",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-66",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-67",
						0
					],
					"destination": [
						"obj-68",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-68",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-71",
						0
					],
					"destination": [
						"obj-72",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-72",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-73",
						0
					],
					"destination": [
						"obj-74",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-74",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-76",
						0
					],
					"destination": [
						"obj-77",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-77",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						0
					],
					"destination": [
						"obj-79",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-79",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-81",
						0
					],
					"destination": [
						"obj-82",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-82",
						0
					],
					"destination": [
						"obj-1",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						1
					],
					"destination": [
						"obj-38",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						2
					],
					"destination": [
						"obj-84",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						3
					],
					"destination": [
						"obj-27",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						4
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						5
					],
					"destination": [
						"obj-81",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						6
					],
					"destination": [
						"obj-55",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						7
					],
					"destination": [
						"obj-57",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						8
					],
					"destination": [
						"obj-14",
						0
					]
				}
			}
		],
		"dependency_cache": [
			{
				"name": "jasco.js",
				"bootpath": ".",
				"patcherrelativepath": ".",
				"type": "TEXT",
				"implicit": 1
			}
		]
	}
}
